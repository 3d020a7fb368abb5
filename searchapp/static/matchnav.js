// Match navigation on the document page.  Without this script the page already works through
// anchors: 第一处/最后一处 link to #m1/#mN and the match the address points to shows links to its
// neighbours.  The script makes 上一处/下一处 follow the current match and shows "k / N".
(function () {
  var nav = document.getElementById("matchnav");
  if (!nav) return;
  var total = parseInt(nav.getAttribute("data-count"), 10) || 0;
  if (!total) return;
  var prev = document.getElementById("match-prev"), next = document.getElementById("match-next");
  var pos = document.getElementById("match-pos");
  var current = 0;
  function set(k) {
    current = k;
    var p = k > 1 ? k - 1 : total, n = k > 0 && k < total ? k + 1 : 1;
    prev.setAttribute("href", "#m" + p);
    next.setAttribute("href", "#m" + n);
    pos.textContent = k ? "第 " + k + " / " + total + " 处" : "";
  }
  function fromHash() {
    var m = /^#m(\d+)$/.exec(location.hash);
    set(m ? Math.min(parseInt(m[1], 10), total) : 0);
  }
  // Follow the link here and update the counter at once: "hashchange" arrives a task later, and
  // until then the address and the counter would disagree.  (Letting the browser follow it would
  // read the href after set() has already moved it on.)
  function follow(ev) {
    var m = /#m(\d+)$/.exec(ev.currentTarget.getAttribute("href") || "");
    if (!m) return;
    ev.preventDefault();
    var k = Math.min(parseInt(m[1], 10), total);
    location.hash = "#m" + k;
    set(k);
  }
  prev.addEventListener("click", follow);
  next.addEventListener("click", follow);
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
