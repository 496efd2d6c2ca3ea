// The live river: new posts arrive over /ws/stream/ without reloading. The page works without this file.
// At the top of the river new posts are inserted; scrolled down, a "N new posts" button waits instead, so
// nothing moves under the reader's eyes. After a dropped connection it reconnects with backoff and fetches
// what it missed since the newest post it has (API `after` cursor): no gap, no duplicate.
// Sidebar counts: each post.new is one more unread post of its source (and its tags); `unread.counts` (sent
// when the person reads or follows anywhere else) and GET /api/v1/unread after each (re)connect set exact counts.
(function () {
  "use strict";
  const river = document.querySelector("section.river[data-live]");
  if (!river || !window.WebSocket) return;

  const scope = {
    source: river.dataset.source || "",
    tag: river.dataset.tag || "",
    sources: river.dataset.scopeSources ? river.dataset.scopeSources.split(",") : null,
  };
  let newest = river.dataset.catchUpFrom || "";
  let pending = [];
  let retries = 0;
  const sourceTags = JSON.parse((document.getElementById("source-tags") || {}).textContent || "{}");
  const counted = new Set(); // posts already in the sidebar counts: those of the page, then each new one once
  river.querySelectorAll("article.post").forEach((article) => counted.add(Number(article.dataset.postId)));
  const sidebar = document.querySelector(".sidebar");
  const banner = document.createElement("button");
  banner.type = "button";
  banner.className = "new-posts";
  banner.hidden = true;
  banner.addEventListener("click", () => { flush(); window.scrollTo({ top: 0 }); });
  river.querySelector(".river-head").after(banner);

  const atTop = () => window.scrollY < 80;
  const known = (id) => river.querySelector(`article.post[data-post-id="${id}"]`) !== null;
  const inScope = (post) => (!scope.source || String(post.source.id) === scope.source)
    && (!scope.sources || scope.sources.includes(String(post.source.id)))
    && !(post.read && "unreadOnly" in river.dataset); // caught up from the API, a read post is not for unread only

  // A post is drawn by the server's own fragment (timelines/_post.jinja, from posts/html/): live posts and the
  // page's posts are one rendering (actions, time, picture).
  async function rendered(ids) {
    const response = await fetch(`${river.dataset.fragmentsUrl}?ids=${ids.join(",")}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`the hub answered ${response.status}`);
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    return new Map([...template.content.querySelectorAll("article.post")].map((post) => [Number(post.dataset.postId), post]));
  }

  const countOf = (node) => parseInt(node.textContent, 10) || 0;
  const tagCounts = (name) => [...sidebar.querySelectorAll("[data-count-tag]")].filter((n) => n.dataset.countTag === name);

  function setCount(node, n) {
    if (!node) return;
    node.textContent = n > 0 ? String(n) : "";
    if (node.hasAttribute("data-count-total")) document.title = (n > 0 ? `(${n}) ` : "") + document.title.replace(/^\(\d+\) /, "");
  }

  function bump(post) { // one more unread post of its source, whatever part of the river this page shows
    if (!sidebar || counted.has(post.id) || post.read) return;
    counted.add(post.id);
    const nodes = [sidebar.querySelector(`[data-count-source="${post.source.id}"]`), sidebar.querySelector("[data-count-total]")];
    (sourceTags[post.source.id] || []).forEach((name) => nodes.push(...tagCounts(name)));
    nodes.forEach((node) => { if (node) setCount(node, countOf(node) + 1); });
  }

  function applyCounts(counts) { // exact counts: {"sources": {id: n}, "tags": {name: n}, "total": n}
    if (!sidebar) return;
    sidebar.querySelectorAll("[data-count-source]").forEach((node) => setCount(node, counts.sources[node.dataset.countSource] || 0));
    sidebar.querySelectorAll("[data-count-tag]").forEach((node) => setCount(node, counts.tags[node.dataset.countTag] || 0));
    setCount(sidebar.querySelector("[data-count-total]"), counts.total);
    document.dispatchEvent(new CustomEvent("chorus:counts", { detail: counts }));
  }

  async function refreshCounts() {
    const response = await fetch(river.dataset.apiUnread, { credentials: "same-origin" });
    if (response.ok) applyCounts(await response.json());
  }

  let flushing = Promise.resolve();
  function flush() { // one insert at a time, in the order the posts came
    flushing = flushing.then(insertPending).catch(() => {});
    return flushing;
  }

  async function insertPending() {
    const waiting = pending.filter((post) => !known(post.id));
    pending = [];
    banner.hidden = true;
    if (!waiting.length) return;
    const posts = await rendered(waiting.map((post) => Number(post.id)));
    const inserted = [];
    const oldestFirst = river.dataset.order === "oldest";
    if (oldestFirst && river.querySelector("a.older")) return; // newer pages exist: these come after them
    waiting.forEach((post) => {
      const article = posts.get(Number(post.id));
      if (!article || known(post.id)) return;
      if (oldestFirst) (river.querySelector("p.keys") || river.lastChild).before(article);
      else (river.querySelector(".caught-up") || banner).after(article); // oldest first, each on top of the previous
      inserted.push(article);
    });
    river.querySelector(".empty")?.remove();
    if (!inserted.length) return;
    // "Mark all read" now covers what is shown, and an unread post ends "all caught up"
    const upTo = document.querySelector("form.mark-all-form input[name=up_to]");
    if (upTo && newest) upTo.value = newest;
    if (inserted.some((article) => article.classList.contains("unread"))) {
      const note = river.querySelector(".caught-up");
      if (note) note.hidden = true;
    }
    document.dispatchEvent(new CustomEvent("chorus:inserted", { detail: inserted }));
  }

  function receive(post, cursor) {
    if (cursor) newest = cursor;
    bump(post);
    if (!inScope(post) || known(post.id) || pending.some((p) => p.id === post.id)) return;
    pending.push(post);
    if (atTop()) flush();
    else {
      banner.hidden = false;
      banner.textContent = pending.length === 1 ? "1 new post" : `${pending.length} new posts`;
    }
  }

  function retract(ids) { // the publisher deleted these posts: they leave the page (and the waiting list)
    const gone = new Set(ids.map(Number));
    pending = pending.filter((post) => !gone.has(Number(post.id)));
    banner.hidden = pending.length === 0;
    banner.textContent = pending.length === 1 ? "1 new post" : `${pending.length} new posts`;
    gone.forEach((id) => river.querySelector(`article.post[data-post-id="${id}"]`)?.remove());
    refreshCounts();
  }

  async function catchUp() {
    let cursor = newest;
    while (cursor) {
      const params = new URLSearchParams({ after: cursor, limit: "100" });
      if (scope.tag) params.set("tag", scope.tag);
      if (scope.source) params.set("source", scope.source);
      const response = await fetch(`${river.dataset.apiTimeline}?${params}`, { credentials: "same-origin" });
      if (!response.ok) return;
      const page = await response.json();
      page.items.forEach((post) => receive(post, null));
      newest = page.next || newest;
      cursor = page.items.length ? page.next : null;
    }
  }

  function connect() {
    const protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${protocol}//${location.host}${river.dataset.streamUrl}`);
    socket.addEventListener("open", () => {
      retries = 0;
      // whatever arrived while the page loaded or the socket was down; then exact counts (reads elsewhere)
      catchUp().then(refreshCounts).catch(() => {});
    });
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "post.new") receive(event.post, event.cursor);
      else if (event.type === "unread.counts") applyCounts(event);
      else if (event.type === "block.new") document.dispatchEvent(new CustomEvent("chorus:blocked", { detail: event.blocks }));
      else if (event.type === "post.retracted") retract(event.post_ids || []);
      else if (event.type === "source.status") {
        const link = document.querySelector(`.sidebar a[href="?source=${event.source.id}"]`);
        if (link) {
          link.classList.toggle("failing", event.source.status === "error" || event.source.status === "gone");
          link.title = event.source.last_error || "";
        }
      }
    });
    socket.addEventListener("close", (close) => {
      if (close.code === 4401) return; // logged out: nothing to reconnect to
      retries += 1;
      const delay = Math.min(30000, 1000 * 2 ** Math.min(retries - 1, 5)) * (0.8 + Math.random() * 0.4);
      setTimeout(connect, delay);
    });
  }

  window.addEventListener("scroll", () => { if (atTop() && pending.length) flush(); }, { passive: true });
  document.addEventListener("chorus:recount", () => refreshCounts().catch(() => {}));
  // `r` (chorus.js): what arrived since the newest post here, inserted wherever the reader is; chorus.js puts
  // the post at the top of the screen back where it was once `chorus:refreshed` says how many came.
  document.addEventListener("chorus:refresh", () => {
    const shown = () => river.querySelectorAll("article.post").length; // some may come in while catching up
    const before = shown();
    catchUp().then(flush).then(() => {
      document.dispatchEvent(new CustomEvent("chorus:refreshed", { detail: shown() - before }));
      return refreshCounts();
    }).catch(() => {});
  });
  connect();
})();
