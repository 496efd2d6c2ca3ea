// The live river: new posts arrive over /ws/stream/ without reloading. The page works without this file.
// At the top of the river new posts are inserted; scrolled down, a "N new posts" button waits instead, so
// nothing moves under the reader's eyes. After a dropped connection it reconnects with backoff and fetches
// what it missed since the newest post it has (API `after` cursor): no gap, no duplicate.
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
    const article = el("article", { class: "post unread", id: `post-${post.id}`, "data-post-id": post.id, "data-url": post.url || "" });
    const header = el("header");
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

  function bump(post) {
    const counts = [river.ownerDocument.querySelector(`.sidebar a[href="?source=${post.source.id}"] .count`),
      river.ownerDocument.querySelector(".sidebar a.all .count")];
    counts.forEach((count) => { if (count) count.textContent = String((parseInt(count.textContent, 10) || 0) + 1); });
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
    if (!inScope(post) || known(post.id) || pending.some((p) => p.id === post.id)) return;
    pending.push(post);
    bump(post);
    if (atTop()) flush();
    else {
      banner.hidden = false;
      banner.textContent = pending.length === 1 ? "1 new post" : `${pending.length} new posts`;
    }
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
      catchUp().catch(() => {}); // whatever arrived while the page loaded or the socket was down
    });
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "post.new") receive(event.post, event.cursor);
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
