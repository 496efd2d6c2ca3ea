// The follow-list import page: its progress bar moves with the import.progress events of /ws/stream/.
// Without this file (or the socket) the page still works: it is reloaded every few seconds instead.
(() => {
  "use strict";
  const box = document.querySelector(".import[data-live]");
  if (!box) return;
  const importId = Number(box.dataset.importId);
  const bar = document.getElementById("import-progress");
  const set = (id, value) => { document.getElementById(id).textContent = String(value); };
  let fallback = null;
  const reloadLater = () => { if (!fallback) fallback = setInterval(() => location.reload(), 3000); };

  function show(job) {
    bar.max = job.total;
    bar.value = job.done;
    bar.textContent = `${job.done} / ${job.total}`;
    set("import-done", job.done);
    set("import-followed", job.followed);
    set("import-already", job.already_followed);
    set("import-failed", job.failed);
    set("import-status", job.status);
    if (job.status === "done" || job.status === "failed") location.reload(); // the summary is rendered server-side
  }

  const protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${protocol}//${location.host}${box.dataset.streamUrl}`);
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "import.progress" && event.import.id === importId) show(event.import);
  });
  // the import may have moved (or ended) while the page loaded: one reload catches up after the socket opens
  socket.addEventListener("open", () => fetchState());
  socket.addEventListener("close", reloadLater);
  socket.addEventListener("error", reloadLater);

  function fetchState() {
    fetch(location.href, { headers: { Accept: "text/html" } })
      .then((response) => response.text())
      .then((html) => {
        const page = new DOMParser().parseFromString(html, "text/html");
        const state = page.querySelector(".import");
        if (state && !state.hasAttribute("data-live")) location.reload();
        const value = page.getElementById("import-progress");
        if (value && Number(value.getAttribute("value")) > bar.value) bar.value = Number(value.getAttribute("value"));
      })
      .catch(reloadLater);
  }
})();

// The summary of an ended OPML import, while feeds still wait for their first fetch: each source.status event
// (a feed's first fetch worked or failed) brings the page's counts again.
(() => {
  "use strict";
  const box = document.querySelector(".first-fetches[data-pending]");
  if (!box) return;
  const protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${protocol}//${location.host}${box.dataset.streamUrl}`);
  let asking = null;
  async function update() {
    const response = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector(".first-fetches");
    if (fresh) box.replaceChildren(...fresh.childNodes);
    if (fresh && !fresh.hasAttribute("data-pending")) socket.close();
  }
  socket.addEventListener("message", (message) => {
    if (JSON.parse(message.data).type !== "source.status" || asking) return;
    asking = update().catch(() => {}).finally(() => { asking = null; });
  });
  socket.addEventListener("open", () => { asking = update().catch(() => {}).finally(() => { asking = null; }); });
})();
