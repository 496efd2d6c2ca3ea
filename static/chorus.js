// The reading flow: every action on a post or a list happens in place (no reload, the river keeps its place),
// optimistically, through the JSON API; a failure puts things back and says so. The keyboard of Google Reader
// (press ? for the list), marking read as you go, relative times that stay current. Every form here still works
// without this file: it only takes over their submit.
(function () {
  "use strict";
  const river = document.querySelector(".river");
  const topbar = document.querySelector(".topbar");
  const csrf = () => (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  const typing = (target) => target.closest && target.closest("input, textarea, select, [contenteditable]");
  const posts = () => Array.from(document.querySelectorAll("article.post[data-post-id]"))
    .filter((post) => !post.hidden && !post.classList.contains("context"));
  const titles = () => river && river.classList.contains("titles");
  const flag = (name) => river && river.dataset[name] === "1";
  document.documentElement.classList.add("js"); // titles only folds posts only where they can unfold

  // The top bar is sticky and wraps on narrow screens: what sticks below it and what is scrolled to (j/k, links
  // to #post-N; CSS scroll-margin) must clear its real height, not a guess.
  if (topbar && window.ResizeObserver) {
    new ResizeObserver(() => document.documentElement.style.setProperty("--topbar-height", `${topbar.offsetHeight}px`)).observe(topbar);
  }

  // A source without a usable picture answers 404: no broken-image boxes (those failed before this ran, too).
  const dropBroken = (img) => img.matches("img.avatar") && img.remove();
  document.addEventListener("error", (event) => { if (event.target instanceof HTMLImageElement) dropBroken(event.target); }, true);
  document.querySelectorAll("img.avatar").forEach((img) => { if (img.complete && !img.naturalWidth) dropBroken(img); });

  // --- Relative times: worded as the server's `ago` filter (timelines/templatetags/chorus.py) words them. ---
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function ago(moment, now) {
    const ahead = moment > now;
    const seconds = Math.abs(now - moment) / 1000;
    if (seconds < 60) return ahead ? "in a moment" : "just now";
    let span;
    if (seconds < 3600) span = `${Math.floor(seconds / 60)} min`;
    else if (seconds < 86400) span = `${Math.floor(seconds / 3600)} h`;
    else if (seconds < 86400 * 30) { const days = Math.floor(seconds / 86400); span = days === 1 ? "1 day" : `${days} days`; }
    else return `${moment.getUTCDate()} ${MONTHS[moment.getUTCMonth()]} ${moment.getUTCFullYear()}`;
    return ahead ? `in ${span}` : `${span} ago`;
  }
  function refreshTimes(root) {
    const now = Date.now();
    root.querySelectorAll("time[datetime]").forEach((time) => {
      const moment = new Date(time.getAttribute("datetime"));
      if (!Number.isNaN(moment.getTime())) time.textContent = ago(moment, now);
    });
  }
  refreshTimes(document);
  setInterval(() => refreshTimes(document), 30000);

  // --- Talking to the hub ---
  async function send(url, { method = "POST", body, keepalive = false } = {}) {
    const response = await fetch(url, {
      method, keepalive, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let reason = `the hub answered ${response.status}`;
      try { reason = (await response.json()).detail || reason; } catch (error) { /* not JSON */ }
      throw new Error(reason);
    }
    return response.status === 204 ? null : response.json();
  }

  async function sendForm(form, body) { // a form without a JSON API (replies, tracks): posted, not followed
    const response = await fetch(form.action, { method: "POST", body, credentials: "same-origin", redirect: "manual" });
    if (!(response.ok || response.type === "opaqueredirect")) throw new Error(`the hub answered ${response.status}`);
  }

  // --- One status line at the bottom: what just happened, an Undo when it can be undone, or what failed. ---
  let toast = null;
  let toastTimer = null;
  function say(text, { undo = null, bad = false } = {}) {
    if (!toast) {
      toast = document.createElement("div");
      toast.className = "toast";
      toast.setAttribute("role", "status");
      toast.setAttribute("aria-live", "polite");
      document.body.append(toast);
    }
    toast.replaceChildren(document.createTextNode(text));
    toast.classList.toggle("bad", bad);
    if (undo) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "undo";
      button.textContent = "Undo";
      button.addEventListener("click", () => { toast.hidden = true; undo(); });
      toast.append(" ", button);
    }
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, undo ? 10000 : 5000);
  }
  const failed = (what) => (error) => say(`Could not ${what}: ${error.message}. Nothing changed.`, { bad: true });

  // --- Read state ---
  const isUnread = (post) => post.classList.contains("unread");
  function showRead(post, read) {
    post.classList.toggle("unread", !read);
    const form = post.querySelector("form.read-form");
    if (!form) return;
    form.querySelector("input[name=read]").value = read ? "0" : "1";
    form.querySelector("button").textContent = read ? "Keep unread" : "Mark read";
  }

  let batch = new Set(); // posts marked read as they scrolled past: sent together
  let batchTimer = null;

  function markRead(post, read, { keepalive = false } = {}) {
    if (!post || isUnread(post) === !read) return Promise.resolve();
    const form = post.querySelector("form.read-form");
    const fields = form && !form.dataset.api ? new FormData(form) : null; // before showRead turns the form around
    if (fields) fields.set("read", read ? "1" : "0");
    showRead(post, read);
    if (!form) return Promise.resolve();
    const sent = form.dataset.api
      ? send(form.dataset.api, { body: { post_ids: [Number(post.dataset.postId)], read }, keepalive })
      : sendForm(form, fields);
    return sent.then(() => { if (!keptLive()) recount(); },
      (error) => { showRead(post, !read); failed(read ? "mark it read" : "keep it unread")(error); });
  }

  function markReadLater(post) {
    if (!isUnread(post)) return;
    showRead(post, true);
    batch.add(post);
    clearTimeout(batchTimer);
    batchTimer = setTimeout(flushBatch, 600);
  }
  function flushBatch(keepalive = false) {
    const sent = [...batch];
    batch = new Set();
    const form = sent.length && sent[0].querySelector("form.read-form[data-api]");
    if (!form) return;
    send(form.dataset.api, { body: { post_ids: sent.map((post) => Number(post.dataset.postId)), read: true }, keepalive })
      .catch((error) => { sent.forEach((post) => showRead(post, false)); failed("mark them read")(error); });
  }
  window.addEventListener("pagehide", () => flushBatch(true));

  // --- Selection and moving through the river ---
  let selected = null;
  function select(post, { expand = titles() } = {}) {
    if (!post) return;
    if (selected && selected !== post) {
      selected.classList.remove("selected");
      if (titles()) selected.classList.remove("open");
    }
    selected = post;
    post.classList.add("selected");
    // a control clicked before (a view button) keeps no focus: Enter now opens the post, not that control
    if (document.activeElement instanceof HTMLElement && !post.contains(document.activeElement)) document.activeElement.blur();
    if (expand) post.classList.add("open");
    post.scrollIntoView({ block: "start" }); // CSS scroll-margin keeps it clear of the sticky top bar
  }
  function move(step, { markLeft }) {
    const list = posts();
    if (!list.length) return;
    const at = list.indexOf(selected);
    const next = at < 0 ? list[step > 0 ? 0 : list.length - 1] : list[Math.max(0, Math.min(at + step, list.length - 1))];
    if (markLeft && selected && next !== selected && flag("readOnMove")) markRead(selected, true);
    select(next, { expand: titles() && markLeft !== null });
    if (titles() && markLeft !== null) markRead(next, true);
  }

  function openPost(post) { // o / Enter: titles only expands in place; otherwise the original, in a new tab
    if (!post) return;
    if (titles() && !post.classList.contains("open")) {
      select(post, { expand: true });
      markRead(post, true);
    } else if (titles()) {
      post.classList.remove("open");
    } else {
      openOriginal(post);
    }
  }
  function openOriginal(post) {
    if (!post || !post.dataset.url) return;
    markRead(post, true, { keepalive: true }); // keepalive: leaving the page does not cancel it
    window.open(post.dataset.url, "_blank", "noopener");
  }

  // Opening a post by its link marks it read (the request survives the navigation).
  // In titles only, a folded post's title unfolds it in place instead (its Open link leaves).
  document.addEventListener("click", (event) => {
    if (!(event.target instanceof Element)) return;
    const post = event.target.closest("article.post[data-post-id]");
    if (!post) return;
    const link = event.target.closest("a.title, a.open");
    const folded = titles() && !post.classList.contains("open");
    if (link && !(folded && link.matches(".title"))) { markRead(post, true, { keepalive: true }); return; }
    if (titles() && (link || !event.target.closest("a, button, form, details, input, textarea, .content"))) {
      event.preventDefault();
      if (folded) { select(post, { expand: true }); markRead(post, true); } else post.classList.remove("open");
    }
  });
  document.addEventListener("auxclick", (event) => {
    const link = event.button === 1 && event.target.closest && event.target.closest("article.post a.title, article.post a.open");
    if (link) markRead(link.closest("article.post"), true, { keepalive: true });
  });

  // Marking read on scrolling past (a reading preference): a post whose bottom went above the top bar.
  if (flag("readOnScroll") && window.IntersectionObserver) {
    const watcher = new IntersectionObserver((entries) => entries.forEach((entry) => {
      if (!entry.isIntersecting && entry.boundingClientRect.bottom <= (entry.rootBounds ? entry.rootBounds.top : 0)) {
        markReadLater(entry.target);
      }
    }), { rootMargin: `-${topbar ? topbar.offsetHeight : 0}px 0px 0px 0px` });
    const watch = (root) => root.querySelectorAll("article.post[data-post-id]").forEach((post) => watcher.observe(post));
    watch(document);
    document.addEventListener("chorus:inserted", (event) => event.detail.forEach((post) => watcher.observe(post)));
  }
  document.addEventListener("chorus:inserted", (event) => event.detail.forEach((post) => refreshTimes(post)));

  // --- The forms, in place ---
  async function markAllRead(form) {
    const changed = [...document.querySelectorAll(".river article.post.unread")];
    changed.forEach((post) => showRead(post, true));
    const value = (name) => (form.querySelector(`input[name=${name}]`) || {}).value || null;
    try {
      const answer = await send(form.dataset.api, {
        body: { all: true, up_to: value("up_to"), tag: value("tag"), source: value("source") ? Number(value("source")) : null },
      });
      say(answer.updated === 1 ? "Marked 1 post read." : `Marked ${answer.updated} posts read.`);
      caughtUp(0);
    } catch (error) {
      changed.forEach((post) => showRead(post, false));
      failed("mark all read")(error);
    }
  }

  function hides(block, post) {
    const value = String(block.value).toLowerCase();
    if (block.kind === "source") return post.dataset.source === value;
    if (block.kind === "author") return post.dataset.author === value || post.dataset.authorUri === value;
    const words = `${post.querySelector("h2")?.textContent || ""} ${post.querySelector(".content")?.textContent || ""}`;
    return words.toLowerCase().includes(value);
  }

  // A block made in another tab or client (the stream's block.new, passed on by the page's live script): what it
  // hides leaves this page too. Posts already hidden in place (a mute here, waiting for its Undo) stay hidden.
  document.addEventListener("chorus:blocked", (event) => {
    const gone = posts().filter((post) => event.detail.some((block) => hides(block, post)));
    gone.forEach((post) => post.remove());
    if (selected && !selected.isConnected) selected = null;
    if (gone.length) recount();
  });

  async function blockFrom(form) {
    const post = form.closest("article.post");
    const kind = form.querySelector("input[name=kind]").value;
    const value = form.querySelector("[name=value]").value.trim();
    if (!value) return;
    form.closest("details")?.removeAttribute("open");
    const gone = posts().filter((each) => hides({ kind, value }, each));
    if (!gone.includes(post)) gone.push(post);
    const bar = document.createElement("div");
    bar.className = "undo-bar";
    bar.setAttribute("role", "status");
    const label = kind === "word" ? `${form.dataset.done} “${value}”` : form.dataset.done;
    bar.textContent = `${label}. `;
    post.before(bar);
    gone.forEach((each) => { each.hidden = true; each.classList.remove("selected"); });
    const restore = () => { gone.forEach((each) => { each.hidden = false; }); bar.remove(); };
    let made;
    try {
      made = await send(form.dataset.api, { body: { kind, value } });
    } catch (error) {
      restore();
      failed(label.toLowerCase())(error);
      return;
    }
    const undo = document.createElement("button");
    undo.type = "button";
    undo.className = "undo";
    undo.textContent = "Undo";
    undo.addEventListener("click", () => {
      restore();
      Promise.all(made.map((block) => send(`${form.dataset.api}/${block.id}`, { method: "DELETE" })))
        .then(() => { say(`${label}: undone.`); recount(); })
        .catch((error) => { gone.forEach((each) => { each.hidden = true; }); post.before(bar); failed("undo it")(error); });
    });
    bar.append(undo);
    if (selected && selected.hidden) selected = null;
    recount();
  }

  async function changeView(form, button) {
    const view = button.value;
    river.classList.toggle("titles", view === "titles");
    button.value = view === "titles" ? "expanded" : "titles";
    button.setAttribute("aria-pressed", String(view === "titles"));
    try {
      await send(river.dataset.prefsApi, { method: "PATCH", body: { view } });
    } catch (error) {
      river.classList.toggle("titles", view !== "titles");
      button.value = view;
      button.setAttribute("aria-pressed", String(view !== "titles"));
      failed("change the view")(error);
    }
  }

  // Unread only and Oldest first: the preference is saved, then the river takes the posts the server now shows
  // (the address the form would have gone back to, which the address bar then shows). Changes go one after the
  // other; the river is aria-busy until the last one is drawn.
  let changing = Promise.resolve();
  function changeList(form, button) {
    const name = button.dataset.pref;
    const on = button.value === "1";
    const next = form.querySelector("input[name=next]").value;
    const show = (state) => {
      const shown = river.querySelector(`.river-view [data-pref=${name}]`) || button;
      shown.setAttribute("aria-pressed", String(state));
      shown.value = state ? "0" : "1";
    };
    show(on);
    river.setAttribute("aria-busy", "true");
    const done = changing.then(() => send(river.dataset.prefsApi, { method: "PATCH", body: { [name]: on } }))
      .then(() => redraw(next, { keepPlace: false }))
      .catch((error) => { show(!on); failed("change the list")(error); });
    changing = done;
    done.then(() => { if (changing === done) river.removeAttribute("aria-busy"); });
  }

  // --- The river anew, in place: the page at `url` as the server renders it gives its posts, its head and its
  // links to more. The post the reader was at stays where it was on the screen if it is still there (another
  // order or filter starts from the river's head instead); the selected post stays selected. ---
  const RIVER_PARTS = ":scope > article.post, :scope > .older, :scope > a.more, :scope > .empty, :scope > .undo-bar, :scope > .caught-up";
  function atTheTop() { // the selected post if in sight, else the first post in sight below the top bar
    const bar = topbar ? topbar.getBoundingClientRect().bottom : 0;
    const seen = (post) => { const box = post.getBoundingClientRect(); return box.bottom > bar && box.top < window.innerHeight; };
    if (selected && selected.isConnected && !selected.hidden && seen(selected)) return selected;
    return posts().find(seen) || null;
  }
  function keepPlace() { // what puts the post at the top of the reader's screen back where it is now
    const anchor = atTheTop();
    const id = anchor && anchor.dataset.postId;
    const top = anchor && anchor.getBoundingClientRect().top;
    return () => {
      const again = id && river.querySelector(`article.post[data-post-id="${id}"]`);
      if (again) window.scrollBy(0, again.getBoundingClientRect().top - top);
      return again;
    };
  }
  async function redraw(url, { keepPlace: keep = true } = {}) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(`the hub answered ${response.status}`);
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector(".river");
    if (!fresh) throw new Error("the hub sent no list");
    document.title = page.title; // its unread count
    const wasSelected = selected && selected.isConnected && !selected.hidden ? selected.dataset.postId : null;
    const restore = keep ? keepPlace() : () => null;
    [...river.attributes].filter((attribute) => !fresh.hasAttribute(attribute.name) && attribute.name !== "aria-busy")
      .forEach((attribute) => river.removeAttribute(attribute.name));
    [...fresh.attributes].forEach((attribute) => river.setAttribute(attribute.name, attribute.value));
    const head = river.querySelector(".river-head");
    const focused = head && head.contains(document.activeElement) && document.activeElement.dataset.pref;
    if (head && fresh.querySelector(".river-head")) head.replaceWith(fresh.querySelector(".river-head"));
    if (focused) river.querySelector(`.river-head [data-pref=${focused}]`)?.focus({ preventScroll: true });
    const old = [...river.querySelectorAll(RIVER_PARTS)];
    const spot = document.createComment("");
    if (old.length) old[0].before(spot); else river.querySelector(":scope > p.keys")?.before(spot);
    if (!spot.isConnected) river.append(spot);
    old.forEach((node) => node.remove());
    const parts = [...fresh.querySelectorAll(RIVER_PARTS)];
    spot.replaceWith(...parts);
    const again = restore();
    selected = wasSelected && river.querySelector(`article.post[data-post-id="${wasSelected}"]`);
    if (selected) {
      selected.classList.add("selected");
      if (titles()) selected.classList.add("open");
    }
    if (!again && river.getBoundingClientRect().top < 0) river.scrollIntoView({ block: "start" });
    if (new URL(url, location.href).href !== location.href) history.replaceState(history.state, "", url);
    document.dispatchEvent(new CustomEvent("chorus:inserted", { detail: parts.filter((node) => node.matches("article.post")) }));
  }

  // `r`: what is new. A live river (live.js) fetches the posts after its newest and inserts them; any other
  // list is drawn anew from the server.
  let placeBeforeRefresh = null;
  document.addEventListener("chorus:refresh", () => {
    if (!river) return;
    if ("live" in river.dataset) placeBeforeRefresh = keepPlace();
    else redraw(location.href).then(() => say("Refreshed."), failed("refresh"));
  });
  document.addEventListener("chorus:refreshed", (event) => { // live.js inserted what was new
    if (placeBeforeRefresh) placeBeforeRefresh();
    placeBeforeRefresh = null;
    say(event.detail ? `${event.detail} new post${event.detail === 1 ? "" : "s"}.` : "Nothing new.");
  });

  // Unfollowing waits a few seconds for an Undo before it is sent: undone, nothing was lost (read state, own
  // title, tags); leaving the page sends it at once.
  const unfollows = new Map(); // form -> timer
  function sendUnfollow(form, keepalive = false) {
    clearTimeout(unfollows.get(form));
    unfollows.delete(form);
    const row = form.closest("tr");
    return send(form.dataset.api, { method: "DELETE", keepalive })
      .then(() => { row.dataset.state = "gone"; })
      .catch((error) => { row.classList.remove("unfollowed"); failed(`unfollow ${form.dataset.title}`)(error); });
  }
  function unfollow(form) {
    const row = form.closest("tr");
    row.classList.add("unfollowed");
    unfollows.set(form, setTimeout(() => sendUnfollow(form), 8000));
    say(`Unfollowed ${form.dataset.title}.`, { undo: () => {
      clearTimeout(unfollows.get(form));
      unfollows.delete(form);
      row.classList.remove("unfollowed");
    } });
  }
  window.addEventListener("pagehide", () => [...unfollows.keys()].forEach((form) => sendUnfollow(form, true)));

  async function saveTags(form) {
    const input = form.querySelector("input[name=tags]");
    const before = input.defaultValue;
    const tags = input.value.split(",").map((tag) => tag.trim()).filter(Boolean);
    try {
      const answer = await send(form.dataset.api, { method: "PATCH", body: { tags } });
      input.value = input.defaultValue = answer.tags.join(", "); // as the person first spelled each tag
      say("Tags saved.");
    } catch (error) {
      input.value = before;
      failed("save the tags")(error);
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    let action = null;
    if (form.matches(".read-form")) {
      const post = form.closest("article.post");
      if (post) action = () => markRead(post, form.querySelector("input[name=read]").value === "1");
    } else if (form.matches(".mark-all-form[data-api]")) {
      action = () => markAllRead(form);
    } else if (form.matches(".block-form[data-api]") && form.closest("article.post[data-source]")) {
      action = () => blockFrom(form);
    } else if (form.matches(".unfollow-form[data-api]")) {
      action = () => unfollow(form);
    } else if (form.matches(".tags-form[data-api]")) {
      action = () => saveTags(form);
    } else if (form.matches(".river-view") && event.submitter && event.submitter.dataset.pref === "view") {
      action = () => changeView(form, event.submitter);
    } else if (form.matches(".river-view") && event.submitter && event.submitter.dataset.pref) {
      action = () => changeList(form, event.submitter);
    }
    if (!action) return;
    event.preventDefault();
    action();
  });

  // The sidebar counts what the river shows: after a block or its undo, live.js asks for the exact counts.
  const recount = () => document.dispatchEvent(new CustomEvent("chorus:recount"));
  const keptLive = () => river && "live" in river.dataset; // live.js keeps this page's counts itself

  // The counts on any other page (the nav's, the Tracks sidebar, the Replies heading, an older timeline page's
  // sidebar) as the server draws them now, after something here changed what they count; changes close
  // together are counted once.
  const COUNTED = ["replies", "tracks", "track", "starred", "source", "tag", "total"];
  const countKey = (element) => COUNTED.filter((name) => element.hasAttribute(`data-count-${name}`))
    .map((name) => `${name}=${element.getAttribute(`data-count-${name}`)}`).join();
  const COUNTS = COUNTED.map((name) => `[data-count-${name}]`).join();
  async function countsFromServer() {
    const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const drawn = new Map([...page.querySelectorAll(COUNTS)].map((element) => [countKey(element), element.textContent]));
    document.querySelectorAll(COUNTS).forEach((element) => {
      const now = drawn.get(countKey(element));
      if (now !== undefined) element.textContent = now;
    });
    document.title = page.title;
  }
  let recountTimer = null;
  document.addEventListener("chorus:recount", () => {
    if (!river || keptLive()) return;
    clearTimeout(recountTimer);
    recountTimer = setTimeout(() => countsFromServer().catch(() => {}), 250);
  });

  // --- All caught up: shown when nothing in the river's scope is unread (live.js sends the exact counts) ---
  function caughtUp(unread) {
    const note = river && river.querySelector(".caught-up");
    if (note) note.hidden = unread > 0;
  }
  document.addEventListener("chorus:counts", (event) => {
    if (!river) return;
    const counts = event.detail;
    const scoped = river.dataset.source ? counts.sources[river.dataset.source]
      : river.dataset.tag ? counts.tags[river.dataset.tag] : counts.total;
    caughtUp(scoped || 0);
  });

  // --- The keyboard ---
  const help = document.getElementById("keys-help");
  const searchBox = document.querySelector("[data-search-box]");
  let pendingG = 0;
  const GO = { a: "/?unread=0", u: "/?unread=1", s: "/starred/" };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return; // a dialog (the keys, a picture) has its own keys: Escape closes it
    const key = event.key;
    if (Date.now() - pendingG < 1500 && GO[key]) {
      pendingG = 0;
      location.assign(GO[key]);
      return;
    }
    pendingG = 0;
    const post = selected && !selected.hidden ? selected : null;
    const actions = {
      j: () => move(1, { markLeft: true }),
      k: () => move(-1, { markLeft: false }),
      n: () => move(1, { markLeft: null }),
      p: () => move(-1, { markLeft: null }),
      o: () => openPost(post || posts()[0]),
      Enter: () => (post ? openPost(post) : false),
      v: () => openOriginal(post),
      m: () => post && markRead(post, isUnread(post)),
      s: () => (post || posts()[0])?.querySelector("form.star-form button.star")?.click(),
      A: () => document.querySelector("form.mark-all-form button")?.click(),
      r: () => document.dispatchEvent(new CustomEvent("chorus:refresh")),
      "/": () => { if (searchBox) { searchBox.focus(); searchBox.select(); } },
      g: () => { pendingG = Date.now(); },
      "?": () => help && help.showModal(),
    };
    if (key === "Enter" && event.target.closest("a, button, summary, [role=button]")) return; // Enter on a control is the control's
    const action = actions[key];
    if (!action) return;
    if (action() === false) return;
    event.preventDefault();
  });
})();
