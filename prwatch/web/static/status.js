// Re-reads the status fragment every few seconds (a file, not inline: the page's
// Content-Security-Policy allows no inline script).
(function () {
  const target = document.getElementById("status");
  const updated = document.getElementById("updated");
  const seconds = Number(target.dataset.refreshSeconds) || 3;
  async function refresh() {
    try {
      const response = await fetch("fragments/status", { cache: "no-store" });
      if (response.redirected || !response.ok) {
        updated.textContent = "(update failed: " + (response.redirected ? "signed out" : response.status) + ")";
        return;
      }
      target.innerHTML = await response.text();
      updated.textContent = "(updated " + new Date().toLocaleTimeString() + ")";
    } catch (error) {
      updated.textContent = "(prwatch is not reachable)";
    }
  }
  setInterval(refresh, seconds * 1000);
})();
