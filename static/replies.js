// The replies page, live: `reply.new` events bump the unread count and offer the new replies (shown by drawing
// the list anew in place, server-rendered, blocks applied: chorus.js); a block made elsewhere takes the posts
// it hides away.
(() => {
  const page = document.querySelector("[data-replies-live]");
  if (!page) return;
  const count = page.querySelector("[data-count-replies]");
  const banner = page.querySelector("[data-new-replies]");
  let fresh = 0;
  let retries = 0;

  function connect() {
    const protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${protocol}//${location.host}${page.dataset.streamUrl}`);
    socket.addEventListener("open", () => { retries = 0; });
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "reply.new" && !document.getElementById(`reply-${event.post.id}`)) {
        fresh += 1;
        count.textContent = String(Number(count.textContent || 0) + 1);
        banner.hidden = false;
        banner.textContent = fresh === 1 ? "1 new reply: show it" : `${fresh} new replies: show them`;
      } else if (event.type === "block.new") {
        document.dispatchEvent(new CustomEvent("chorus:blocked", { detail: event.blocks }));
      }
    });
    socket.addEventListener("close", (close) => {
      if (close.code === 4401) return;
      retries += 1;
      setTimeout(connect, Math.min(30000, 1000 * 2 ** Math.min(retries - 1, 5)));
    });
  }

  banner.addEventListener("click", () => {
    fresh = 0;
    banner.hidden = true;
    document.dispatchEvent(new CustomEvent("chorus:refresh"));
  });
  connect();
})();
