// The top bar's menus: on phones the menu button folds the navigation, the follow box and the page's sidebar
// (sources, tags, unread counts) in and out; the Settings menu closes on a click elsewhere or Escape.
// Without this file the phone menu stays unfolded (chorus.css, "scripting: enabled") and Settings is a <details>.
// Code and tables in posts that are wider than their card scroll sideways; they take the keyboard's focus so
// they can be scrolled without a mouse, also in posts that arrive live. A post's picture shown smaller than it is
// (chorus.css caps its height) is a button that opens it whole over the page (a click, or Enter or Space once it
// has the keyboard's focus); a click or Escape closes it, and the focus goes back to the picture.
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
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    focusableScrollers(node);
    watchPictures(node);
  }))).observe(document.body, { childList: true, subtree: true });

  // How much smaller than its own size a post's picture is drawn (1: whole, or not drawn); pictures inside links
  // follow the link.
  function shrunk(picture) {
    if (!picture || picture.closest("a") || !picture.complete || !picture.naturalWidth || !picture.clientWidth) return 1;
    return Math.min(1, picture.clientWidth / picture.naturalWidth, picture.clientHeight / picture.naturalHeight);
  }
  // A shrunk picture is a button for the keyboard and screen readers too; its name says what it opens. An empty
  // alt (a decorative picture) cannot name a button, so the label stands in for it while the picture is one.
  function markEnlargeable(picture) {
    const enlargeable = shrunk(picture) < 0.98;
    if (enlargeable === picture.classList.contains("enlargeable")) return;
    picture.classList.toggle("enlargeable", enlargeable);
    if (enlargeable) {
      picture.tabIndex = 0;
      picture.setAttribute("role", "button");
      picture.setAttribute("aria-label", picture.alt ? `Show whole: ${picture.alt}` : "Show the picture whole");
      if (picture.getAttribute("alt") === "") picture.removeAttribute("alt");
    } else {
      ["tabindex", "role", "aria-label"].forEach((name) => picture.removeAttribute(name));
      if (!picture.hasAttribute("alt")) picture.setAttribute("alt", "");
    }
  }
  const POST_PICTURE = ".post .content img";
  // Judged again when it loads and whenever its box changes size (a resized window, a folded post opening)
  const resized = new ResizeObserver((changes) => changes.forEach((change) => markEnlargeable(change.target)));
  // Once loaded, a picture's box is no wider than the picture drawn at the height cap (chorus.css, .fitted): a
  // square or portrait picture would otherwise leave an empty band at its right. Its declared width still rules
  // below that, and its height does not change (the cap, or its own proportions as before): nothing moves.
  function fit(picture) {
    if (!picture.complete || !picture.naturalWidth || !picture.naturalHeight) return;
    picture.style.setProperty("--ratio", String(picture.naturalWidth / picture.naturalHeight));
    picture.classList.add("fitted");
  }
  const watchPictures = (root) => root.querySelectorAll(POST_PICTURE).forEach((picture) => {
    fit(picture);
    resized.observe(picture);
  });
  watchPictures(document);
  document.addEventListener("load", (event) => {
    if (!event.target.matches || !event.target.matches(POST_PICTURE)) return;
    fit(event.target);
    markEnlargeable(event.target);
  }, true);

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
  document.addEventListener("click", (event) => {
    const picture = event.target.closest(POST_PICTURE);
    if (picture && shrunk(picture) < 0.98) showWhole(picture);
  });
  document.addEventListener("keydown", (event) => {
    if ((event.key === "Enter" || event.key === " ") && event.target.matches(POST_PICTURE + ".enlargeable")) {
      event.preventDefault(); // Space would scroll the page
      showWhole(event.target);
    }
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
