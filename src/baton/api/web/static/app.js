// Live updates: when the audit trail grows, re-render <main> from the server, unless the
// person is typing in a form (their draft is never thrown away).
(function () {
  if (!document.body.dataset.live || !window.EventSource) return;
  var source = new EventSource("/events");
  var busy = false;
  source.addEventListener("change", function () {
    var active = document.activeElement;
    if (busy || (active && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName))) return;
    busy = true;
    fetch(location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        if (fresh) document.getElementById("main").replaceWith(fresh);
      })
      .finally(function () { busy = false; });
  });
})();
