// The full facet list (/facet/<name>): narrow the rows on this page as you type.
// Without script the form's 查找 button asks the server (which searches every value, not just this page).
(function () {
  var input = document.getElementById("facet_prefix");
  var list = document.getElementById("facet-list");
  if (!input || !list) return;
  input.addEventListener("input", function () {
    var v = input.value.trim().toLowerCase();
    list.querySelectorAll("li").forEach(function (li) {
      var a = li.querySelector("a[data-value]");
      var name = a ? (a.getAttribute("data-value") || "").toLowerCase() : "";
      li.hidden = !!v && name.indexOf(v) < 0 && !li.classList.contains("selected");
    });
  });
})();
