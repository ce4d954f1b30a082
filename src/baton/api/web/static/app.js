// Live updates: when the audit trail grows, re-render <main> from the server. A draft is
// never thrown away: while any field holds something the person typed or chose, the page
// is not replaced; a notice offers to reload instead. Open sections stay open. The stream
// starts from the audit position the page was rendered at, so no change is missed.
(function () {
  var body = document.body, live = document.getElementById("live");
  if (!body.dataset.live || !window.EventSource) return;
  var seq = body.dataset.seq, busy = false, again = false;
  var source = new EventSource("/events" + (seq ? "?after=" + seq : ""));
  function state(text, off) {
    if (!live) return;
    live.textContent = text; live.className = off ? "live off" : "live"; live.hidden = false;
  }
  function drafted(main) {
    return Array.prototype.some.call(main.querySelectorAll("textarea, input, select"), function (f) {
      if (f.type === "hidden" || f.type === "submit") return false;
      if (f.tagName === "SELECT") return f.selectedIndex !== 0;
      if (f.type === "checkbox" || f.type === "radio") return f.checked !== f.defaultChecked;
      return f.value !== f.defaultValue;
    });
  }
  function notice() {
    if (document.getElementById("stale")) return;
    var p = document.createElement("p");
    p.id = "stale"; p.className = "note"; p.setAttribute("role", "status");
    p.textContent = "This page has changed since you opened it. ";
    var a = document.createElement("a");
    a.href = location.href; a.textContent = "Reload (your unsent answer will be lost)";
    p.appendChild(a);
    document.getElementById("main").prepend(p);
  }
  source.onopen = function () { state("live"); };
  source.onerror = function () { state("reconnecting…", true); };
  function refresh() {
    var main = document.getElementById("main"), active = document.activeElement;
    if ((active && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) || drafted(main)) {
      notice(); return;
    }
    if (busy) { again = true; return; }
    busy = true;
    var open = Array.prototype.map.call(main.querySelectorAll("details"), function (d) { return d.open; });
    fetch(location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById("main");
        var now = document.getElementById("main");
        if (!fresh || drafted(now)) return;
        fresh.querySelectorAll("details").forEach(function (d, i) { if (open[i]) d.open = true; });
        now.replaceWith(fresh);
      })
      .finally(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  source.addEventListener("change", refresh);
})();
