// The top bar's menus: on phones the menu button folds the navigation, the follow box and the page's sidebar
// (sources, tags, unread counts) in and out; the Settings menu closes on a click elsewhere or Escape.
// Without this file the phone menu stays unfolded (chorus.css, "scripting: enabled") and Settings is a <details>.
// Code and tables in posts that are wider than their card scroll sideways; they take the keyboard's focus so
// they can be scrolled without a mouse, also in posts that arrive live. A post's picture shown smaller than it is
// (chorus.css caps its height) opens whole over the page on a click; a click or Escape closes it.
(function () {
  "use strict";
  const root = document.documentElement;
  const button = document.querySelector(".menu-button");
  const settings = document.querySelector(".settings-menu");

  function setMenu(open) {
    root.classList.toggle("menu-open", open);
    button.setAttribute("aria-expanded", String(open));
    if (open) window.scrollTo(0, 0); // what opened is at the top of the page
  }

  if (button) {
    button.addEventListener("click", () => setMenu(!root.classList.contains("menu-open")));
  }
  document.addEventListener("click", (event) => {
    if (settings && settings.open && !settings.contains(event.target)) settings.open = false;
  });
  // On a phone the Settings pages' links are one sideways strip: the current page's link in view
  const current = document.querySelector(".settings-nav [aria-current=page]");
  const strip = current && current.closest(".settings-links");
  if (strip && strip.scrollWidth > strip.clientWidth) strip.scrollLeft = current.offsetLeft - 16;

  function focusableScrollers(root) {
    root.querySelectorAll(".content pre, .content table").forEach((box) => {
      if (box.scrollWidth > box.clientWidth) box.tabIndex = 0;
      else box.removeAttribute("tabindex");
    });
  }
  focusableScrollers(document);
  window.addEventListener("resize", () => focusableScrollers(document));
  new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach((node) => {
    if (node.nodeType === Node.ELEMENT_NODE) focusableScrollers(node);
  }))).observe(document.body, { childList: true, subtree: true });

  // How much smaller than its own size a post's picture is drawn (1: whole); pictures inside links follow the link.
  function shrunk(picture) {
    if (!picture || picture.closest("a") || !picture.complete || !picture.naturalWidth) return 1;
    return Math.min(1, picture.clientWidth / picture.naturalWidth, picture.clientHeight / picture.naturalHeight);
  }
  let viewer = null;
  function showWhole(picture) {
    if (!viewer) {
      viewer = document.createElement("dialog");
      viewer.className = "picture-viewer";
      viewer.setAttribute("aria-label", "Picture");
      viewer.append(document.createElement("img"));
      viewer.addEventListener("click", () => viewer.close());
      document.body.append(viewer);
    }
    const whole = viewer.firstElementChild;
    whole.src = picture.currentSrc || picture.src;
    whole.alt = picture.alt;
    viewer.showModal();
  }
  document.addEventListener("mouseover", (event) => {
    const picture = event.target.closest && event.target.closest(".post .content img");
    if (picture) picture.classList.toggle("enlargeable", shrunk(picture) < 0.98);
  });
  document.addEventListener("click", (event) => {
    const picture = event.target.closest(".post .content img");
    if (picture && shrunk(picture) < 0.98) showWhole(picture);
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (settings && settings.open) {
      settings.open = false;
      settings.querySelector("summary").focus();
    } else if (button && root.classList.contains("menu-open")) {
      setMenu(false);
      button.focus();
    }
  });
})();
