/* Web admin: live progress of an indexing run, polled from /admin/api/progress (local file, no CDN). */
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var button = document.getElementById("start-index");
  var url = box.getAttribute("data-url");
  var wasRunning = box.getAttribute("data-running") === "true";

  function seconds(s) {
    if (s === null || s === undefined) { return "—"; }
    s = Math.round(s);
    return s >= 60 ? Math.floor(s / 60) + " 分 " + (s % 60) + " 秒" : s + " 秒";
  }

  function show(p) {
    if (p.running) {
      var line = "正在运行：" + (p.phase_label || p.phase || "");
      if (p.total) {
        bar.max = p.total; bar.value = p.done;
        line += " " + p.done + "/" + p.total + " 个文件";
        if (p.rate) { line += "，" + p.rate + " 个/秒，预计还需 " + seconds(p.eta); }
      } else {
        bar.removeAttribute("value");
      }
      if (p.file) { line += "（" + p.file + "）"; }
      text.textContent = line;
      if (button) { button.disabled = true; }
    } else if (wasRunning) {
      window.location.reload();  // finished: show the new statistics and the run's summary
      return;
    }
    wasRunning = p.running;
  }

  function poll() {
    var req = new XMLHttpRequest();
    req.open("GET", url, true);
    req.setRequestHeader("Accept", "application/json");
    req.onload = function () {
      if (req.status === 200) {
        try { show(JSON.parse(req.responseText)); } catch (e) { /* keep polling */ }
      } else if (req.status === 401) {
        text.textContent = "登录已过期，请刷新页面重新登录。";
        return;
      }
      setTimeout(poll, wasRunning ? 1000 : 5000);
    };
    req.onerror = function () { setTimeout(poll, 5000); };
    req.send();
  }
  setTimeout(poll, wasRunning ? 500 : 3000);
})();
