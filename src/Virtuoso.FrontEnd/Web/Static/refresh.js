// Progressive refresh of a machine's serial console: the page works without it; with it, the log follows the guest.
(function () {
  var pre = document.getElementById('serial');
  if (!pre || !window.fetch) return;
  var src = pre.getAttribute('data-src');
  function tick() {
    fetch(src, { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.text() : null; }).then(function (t) {
      if (t === null) return;
      var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = t.length > 4000 ? '…' + t.slice(-4000) : t;
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }).catch(function () {});
  }
  setInterval(tick, 3000);
})();
