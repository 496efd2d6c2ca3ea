// Preview before following: what the follow box's text leads to (name, picture, last posts), shown while the
// person types, from GET /api/v1/follow-preview. Nothing is followed until the form is sent; without this file
// the form follows directly. Ambiguous or wrong input shows the hub's message saying what was expected.
(function () {
  "use strict";
  const form = document.querySelector("form.follow[data-preview-url]");
  if (!form || !window.fetch || !window.AbortController) return;
  const input = form.querySelector("input[name=address]");
  const panel = form.querySelector(".follow-preview");
  const WAIT_MS = 600; // after the last keystroke
  const KINDS = { rss: "feed", xmpp: "XMPP microblog", x: "X account" };
  let timer = null;
  let running = null;
  let shownFor = null;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function show(nodes, state) {
    panel.replaceChildren(...nodes);
    panel.dataset.state = state;
    panel.hidden = false;
  }

  function hide() {
    if (running) running.abort();
    running = null;
    shownFor = null;
    panel.hidden = true;
    panel.replaceChildren();
    delete panel.dataset.state;
  }

  const ownPath = (url) => typeof url === "string" && url.startsWith("/") && !url.startsWith("//");

  function render(preview) {
    const head = el("div", { class: "who" });
    if (ownPath(preview.avatar)) { // served by Chorus: the remote server never sees the reader
      const picture = el("img", { class: "avatar", src: preview.avatar, alt: "", width: "48", height: "48" });
      picture.addEventListener("error", () => picture.remove());
      head.append(picture);
    }
    const names = el("div");
    names.append(el("strong", { class: "title" }, preview.title || preview.address));
    if (preview.handle) names.append(" ", el("span", { class: "handle" }, preview.handle));
    names.append(el("br"), el("small", {}, `${KINDS[preview.kind] || preview.kind}: ${preview.address}`));
    head.append(names);
    const nodes = [head];
    if (preview.posts.length) {
      const list = el("ul", { class: "posts" });
      preview.posts.forEach((post) => {
        const item = el("li");
        const words = post.title && !post.text.startsWith(post.title) ? `${post.title}: ${post.text}` : post.text || post.title;
        item.append(el("span", {}, words.length > 160 ? `${words.slice(0, 159)}…` : words));
        if (post.published) {
          item.append(" ", el("time", { datetime: post.published }, new Date(post.published).toLocaleDateString()));
        }
        list.append(item);
      });
      nodes.push(list);
    } else {
      nodes.push(el("p", { class: "hint" }, preview.problem ? `No posts to show: ${preview.problem}.` : "No posts yet."));
    }
    const follow = el("button", { type: "submit", class: "follow-this" }, `Follow ${preview.title || preview.address}`);
    nodes.push(follow);
    return nodes;
  }

  async function ask(address) {
    if (running) running.abort();
    const controller = new AbortController();
    running = controller;
    show([el("p", { class: "hint" }, `Looking up ${address}…`)], "loading");
    let response;
    try {
      response = await fetch(`${form.dataset.previewUrl}?${new URLSearchParams({ address })}`, {
        credentials: "same-origin", headers: { Accept: "application/json" }, signal: controller.signal,
      });
    } catch (error) {
      if (controller.signal.aborted) return;
      show([el("p", { class: "error" }, "Could not preview this now; Follow still works.")], "error");
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (controller.signal.aborted) return; // the person typed on: a newer answer is coming
    running = null;
    shownFor = address;
    if (response.ok) show(render(body), "preview");
    else show([el("p", { class: "error" }, body.detail || `The hub answered ${response.status}.`)], "error");
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const address = input.value.trim();
    if (!address) { hide(); return; }
    if (address === shownFor) return;
    timer = setTimeout(() => ask(address), WAIT_MS);
  });
  input.addEventListener("keydown", (event) => { if (event.key === "Escape") hide(); });
  form.addEventListener("submit", () => { clearTimeout(timer); if (running) running.abort(); });
})();
