// Track pages, live: each `track.match` for a track shown here adds one to its sidebar count (and to "All
// tracks") and to a "N new matches" button that draws the list anew in place (server-rendered, blocks applied:
// chorus.js). A block made elsewhere takes the posts it hides away. Without this file the page still works.
(function () {
  "use strict";
  const river = document.querySelector("section.river[data-tracks-live]");
  if (!river || !window.WebSocket) return;
  const shownTrack = river.dataset.track; // "" on the page of all tracks
  const button = river.querySelector("[data-new-matches]");
  const seen = new Set();
  let attempt = 0;

  function bump(key) {
    const badge = document.querySelector(`[data-count-track="${key}"]`);
    if (badge) badge.textContent = String((parseInt(badge.textContent, 10) || 0) + 1);
  }

  function onMatch(event) {
    if (seen.has(event.post.id)) return;
    seen.add(event.post.id);
    event.tracks.forEach((track) => bump(track.id));
    const nav = document.querySelector("[data-count-tracks]"); // "Tracks N": unread matches, one per post
    if (nav) nav.textContent = String((parseInt(nav.textContent, 10) || 0) + 1);
    const ids = event.tracks.map((track) => String(track.id));
    if (shownTrack && !ids.includes(shownTrack)) return;
    if (!shownTrack) bump("all");
    button.hidden = false;
    button.textContent = `${seen.size} new ${seen.size === 1 ? "match" : "matches"}: show`;
  }

  function open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + river.dataset.streamUrl);
    socket.onopen = () => { attempt = 0; };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "track.match") onMatch(event);
      if (event.type === "block.new") document.dispatchEvent(new CustomEvent("chorus:blocked", { detail: event.blocks }));
    };
    socket.onclose = (closed) => {
      if (closed.code === 4401) return; // signed out: nothing to reconnect to
      attempt = Math.min(attempt + 1, 6);
      setTimeout(open, Math.min(30000, 500 * 2 ** attempt));
    };
  }

  button.addEventListener("click", () => {
    seen.clear();
    button.hidden = true;
    document.dispatchEvent(new CustomEvent("chorus:refresh"));
  });
  open();
})();
