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
  let newest = river.dataset.newestCursor || "";
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

  const csrf = () => (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  const atTop = () => window.scrollY < 80;
  const known = (id) => river.querySelector(`article.post[data-post-id="${id}"]`) !== null;
  const inScope = (post) => (!scope.source || String(post.source.id) === scope.source)
    && (!scope.sources || scope.sources.includes(String(post.source.id)));

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function render(post) {
    const article = el("article", { class: "post unread", id: `post-${post.id}`, "data-post-id": post.id, "data-url": post.url || "",
      "data-author": (post.author.handle || "").toLowerCase(), "data-author-uri": (post.author.uri || "").toLowerCase(), "data-source": post.source.id });
    const header = el("header");
    // the picture Chorus serves for the source (a path on this origin): never a remote URL in the page
    if (post.source.avatar && post.source.avatar.startsWith("/") && !post.source.avatar.startsWith("//")) {
      header.append(el("img", { class: "avatar", src: post.source.avatar, alt: "", width: "24", height: "24", loading: "lazy" }));
    }
    header.append(el("a", { class: "source", href: `?source=${post.source.id}` }, post.source.title));
    if (post.author && post.author.name) header.append(el("span", { class: "author" }, post.author.name));
    header.append(el("time", { datetime: post.published }, new Date(post.published).toLocaleString()));
    article.append(header);
    if (post.title) {
      const h2 = el("h2");
      h2.append(post.url ? el("a", { href: post.url, rel: "noopener noreferrer nofollow", target: "_blank" }, post.title) : document.createTextNode(post.title));
      article.append(h2);
    }
    const content = el("div", { class: "content" });
    content.innerHTML = post.content_html; // sanitized by nh3 at ingest, as in the server-rendered page
    article.append(content);
    const footer = el("footer");
    if (post.url) footer.append(el("a", { href: post.url, rel: "noopener noreferrer nofollow", target: "_blank" }, "Open"));
    const form = el("form", { method: "post", action: river.dataset.markReadUrl, class: "inline" });
    [["csrfmiddlewaretoken", csrf()], ["post_id", post.id], ["read", "1"], ["next", location.pathname + location.search]]
      .forEach(([name, value]) => form.append(el("input", { type: "hidden", name, value })));
    form.append(el("button", { type: "submit", class: "link mark-read" }, "Mark read"));
    footer.append(form);
    article.append(footer);
    return article;
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
  }

  async function refreshCounts() {
    const response = await fetch(river.dataset.apiUnread, { credentials: "same-origin" });
    if (response.ok) applyCounts(await response.json());
  }

  function flush() {
    const anchor = banner;
    pending.forEach((post) => {
      if (!known(post.id)) anchor.after(render(post)); // oldest first, each on top of the previous
    });
    pending = [];
    banner.hidden = true;
    river.querySelector(".empty")?.remove();
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

  function hideBlocked(blocks) { // a block made in another tab or client: what it hides leaves this page too
    const words = (a) => `${a.querySelector("h2")?.textContent || ""} ${a.querySelector(".content")?.textContent || ""}`.toLowerCase();
    const hides = (a) => blocks.some((b) =>
      (b.kind === "author" && (a.dataset.author === b.value || a.dataset.authorUri === b.value))
      || (b.kind === "source" && a.dataset.source === String(b.value))
      || (b.kind === "word" && words(a).includes(b.value)));
    const gone = [...river.querySelectorAll("article.post")].filter(hides).map((a) => a.dataset.postId);
    if (gone.length) retract(gone);
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
      else if (event.type === "block.new") hideBlocked(event.blocks);
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
  connect();
})();
