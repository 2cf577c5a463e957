// prwatch's pages update their live part (#live) without a reload: when the change stream
// reports a change that concerns the page, or every data-every seconds. No inline script, so a
// strict Content-Security-Policy ('self') allows it.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("live-status");
  if (!live || !live.dataset.liveUrl) { return; }
  var url = live.dataset.liveUrl;
  var wantedRepository = live.dataset.repositoryId;
  var wantedPr = live.dataset.pr;
  var MIN_GAP_MS = 1000;
  var lastRefresh = 0;
  var timer = null;

  function say(text) { if (status) { status.textContent = text; } }

  async function refresh() {
    timer = null;
    lastRefresh = Date.now();
    try {
      var response = await fetch(url, { cache: "no-store", headers: { "Accept": "text/html" } });
      if (response.redirected) { say("signed out: reload to sign in"); return; }
      if (!response.ok) { say("update failed (" + response.status + ")"); return; }
      var html = await response.text();
      var active = document.activeElement;
      var keep = active && live.contains(active) && active.id ? active.id : null;
      live.innerHTML = html;
      if (keep && document.getElementById(keep)) { document.getElementById(keep).focus(); }
      say("updated " + new Date().toLocaleTimeString());
    } catch (error) {
      say("prwatch is not reachable");
    }
  }

  function soon() {
    if (timer !== null) { return; }
    var wait = Math.max(200, MIN_GAP_MS - (Date.now() - lastRefresh));
    timer = setTimeout(refresh, wait);
  }

  function concernsPage(change) {
    if (wantedRepository && String(change.repository_id) !== wantedRepository) { return false; }
    if (wantedPr && String(change.pr_number) !== wantedPr) { return false; }
    return true;
  }

  if (live.dataset.after !== undefined && window.EventSource) {
    var streamUrl = live.dataset.streamUrl + "?after=" + encodeURIComponent(live.dataset.after);
    var stream = new EventSource(streamUrl);
    stream.onopen = function () { say("live"); };
    stream.onerror = function () { say("reconnecting…"); };
    stream.onmessage = function (event) {
      try { if (concernsPage(JSON.parse(event.data))) { soon(); } } catch (error) { soon(); }
    };
  }
  if (live.dataset.every) {
    setInterval(refresh, Number(live.dataset.every) * 1000);
  }
})();
