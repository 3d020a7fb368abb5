// Suggestions as you type, from /api/suggest (indexed titles and frequent words). No library, no CDN.
(function () {
  var input = document.getElementById("q");
  var list = document.getElementById("suggestions");
  if (!input || !list || !window.fetch) return;
  var timer = null, last = "";
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var v = input.value.trim();
      if (!v || v === last) return;
      last = v;
      fetch("/api/suggest?q=" + encodeURIComponent(v)).then(function (r) { return r.json(); }).then(function (data) {
        while (list.firstChild) list.removeChild(list.firstChild);
        (data.suggestions || []).forEach(function (s) {
          var opt = document.createElement("option");
          opt.value = s.text;  // text content, never markup
          opt.label = s.kind === "title" ? "标题" : "词语";
          list.appendChild(opt);
        });
      }).catch(function () {});
    }, 150);
  });
})();
