// Submit a form when a <select data-autosubmit> changes (the sort order), without an inline handler,
// so the Content-Security-Policy can forbid inline scripts.
(function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { if (sel.form) sel.form.submit(); });
  });
})();
