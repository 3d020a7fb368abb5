// Copy buttons for example sentences: the sentence with its citation (title, region, year, link).
// The buttons are hidden in the HTML and shown here, so a page without scripts shows no dead button;
// the same citation text is visible in each sentence's "上下文与出处" box for copying by hand.
(function () {
  var buttons = document.querySelectorAll("button.copy[hidden]");
  for (var i = 0; i < buttons.length; i++) buttons[i].hidden = false;
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button.copy") : null;
    if (!btn) return;
    var text = btn.getAttribute("data-text") || "";
    var label = btn.getAttribute("data-label") || btn.textContent;
    btn.setAttribute("data-label", label);
    var done = function (ok) {
      btn.textContent = ok ? "已复制" : "复制失败，请在“上下文与出处”中手动复制";
      setTimeout(function () { btn.textContent = label; }, 1800);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(fallback(text)); });
    } else { done(fallback(text)); }
  });
  function fallback(text) {
    var ta = document.createElement("textarea");
    ta.value = text; ta.setAttribute("readonly", ""); ta.style.position = "fixed"; ta.style.opacity = "0";
    document.body.appendChild(ta); ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(ta);
    return ok;
  }
})();
