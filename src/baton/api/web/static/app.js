// Live updates: when the audit trail grows, re-render <main> from the server, unless the
// person is typing in a form (their draft is never thrown away). The stream starts from the
// audit position the page was rendered at, so a change made while it loaded is not missed.
(function () {
  var body = document.body, live = document.getElementById("live");
  if (!body.dataset.live || !window.EventSource) return;
  var seq = body.dataset.seq, busy = false, again = false;
  var source = new EventSource("/events" + (seq ? "?after=" + seq : ""));
  function state(text, off) {
    if (!live) return;
    live.textContent = text; live.className = off ? "live off" : "live"; live.hidden = false;
  }
  source.onopen = function () { state("live"); };
  source.onerror = function () { state("reconnecting…", true); };
  function refresh() {
    var active = document.activeElement;
    if (active && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) return;
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById("main");
        if (fresh) document.getElementById("main").replaceWith(fresh);
      })
      .finally(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  source.addEventListener("change", refresh);
})();
