// Reads one feed document on stdin with npm feedparser (strict XML: any well-formedness or namespace error
// counts) and prints what it understood as JSON: {errors, warnings, meta, items}. Exits 0 even when the feed
// has errors (the test reads them); non-zero only when this script itself fails.
"use strict";
const FeedParser = require("feedparser");

const warnings = [];
process.on("warning", (warning) => warnings.push(String(warning)));
console.warn = (...args) => warnings.push(args.join(" "));

const parser = new FeedParser({ strict: true, resume_saxerror: true, normalize: true, addmeta: false,
  feedurl: process.argv[2] || undefined });
const items = [];
const errors = [];
parser.on("error", (error) => errors.push(String(error && error.message || error)));
parser.on("readable", function () {
  let item;
  while ((item = this.read())) items.push(item);
});
parser.on("end", () => {
  const saxErrors = (parser.errors || []).map((error) => String(error && error.message || error));
  const meta = parser.meta || {};
  process.stdout.write(JSON.stringify({
    errors: [...new Set([...errors, ...saxErrors])],
    warnings,
    meta: { type: meta["#type"], version: meta["#version"], title: meta.title, link: meta.link,
      xmlurl: meta.xmlurl, author: meta.author, date: meta.date, cloud: meta.cloud,
      links: [].concat(meta["atom:link"] || []).map((link) => link["@"]),
      deleted: [].concat(meta["at:deleted-entry"] || []).map((d) => d["@"]) },
    items: items.map((item) => ({ guid: item.guid, link: item.link, title: item.title,
      description: item.description, date: item.date, pubdate: item.pubdate, author: item.author,
      in_reply_to: [].concat(item["thr:in-reply-to"] || []).map((r) => r["@"]) })),
  }));
});
process.stdin.pipe(parser);
