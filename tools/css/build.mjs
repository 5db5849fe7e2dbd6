// Bootstrap with only the rules the portal's pages use (`make css`).
//
// Reads Bootstrap's full build from node_modules (package-lock.json pins it), keeps
// the rules whose classes, elements and attributes appear in what renders HTML (the
// templates, our scripts, the Python that writes class names), and writes the result
// over static/vendor/bootstrap-5.3.9/bootstrap.min.css, which is committed: `make run`
// and `make test` need no node. base.html inlines that file (see its <head>).
//
// A class written whole in a template is found by itself. A class whose name is put
// together at run time is not, so each such family is in SAFELIST below with where
// it is built; a new one goes there too. targets/tests/test_slow_links.py fails when
// a template uses a Bootstrap class this build dropped (BOOTSTRAP_CLASSES below).

import { readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { PurgeCSS } from "purgecss";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const full = join(here, "node_modules", "bootstrap", "dist", "css", "bootstrap.min.css");
const output = join(root, "static", "vendor", "bootstrap-5.3.9", "bootstrap.min.css");
// Every class Bootstrap defines, one a line: the staleness test's reference.
const BOOTSTRAP_CLASSES = join(here, "bootstrap-classes.txt");

const CONTENT = [
  "templates/**/*.html",
  "static/js/**/*.js",
  // The Python that writes HTML: badges, bars, overrides (reports/presentation.py,
  // reports/templatetags/report_ui.py, reports/public.py), form widgets.
  "reports/**/*.py",
  "targets/**/*.py",
].map((glob) => join(root, glob));
const SKIPPED = [
  // The admin is Django's own stylesheet, not Bootstrap.
  "templates/admin/**",
  "**/tests/**",
  "**/migrations/**",
].map((glob) => join(root, glob));

const SAFELIST = {
  standard: [
    // base.html: alert-{{ message.tags }}, error shown as danger, info by default.
    /^alert-(danger|info|success|warning)$/,
  ],
  // text-bg-<colour> badges: the colours of reports/presentation.py's STATUS_STYLE,
  // TASK_STYLE, NO_UPDATE and REPORT_STYLE (and targets/progress.py), written in
  // templates as text-bg-{{ colour }} and in presentation.status_badge.
  greedy: [/^text-bg-(primary|secondary|success|warning|danger|light)$/],
  // Read by static/css/report.css (.fill-<colour> bars), which PurgeCSS does not see.
  variables: [/^--bs-(primary|secondary|success|warning|danger|info)$/],
};

// In Python only what stands in a class="…" attribute counts: its other words
// ("ratio", "mark", "visible") are not classes.
const pythonClasses = (text) =>
  [...text.matchAll(/class=(?:\\?["'])([^"'\\{]*)/g)].flatMap((m) => m[1].split(/\s+/));

const [result] = await new PurgeCSS().purge({
  content: CONTENT,
  extractors: [{ extractor: pythonClasses, extensions: ["py"] }],
  skippedContentGlobs: SKIPPED,
  css: [full],
  safelist: SAFELIST,
  keyframes: true, // drop the animations of components the pages do not use
  fontFace: true,
  variables: true, // drop custom properties no kept rule reads
});

const source = await readFile(full, "utf8");
const banner =
  "/*! Bootstrap v5.3.9 (MIT, LICENSE beside this file), only the rules the portal's " +
  "pages use: built by tools/css/build.mjs (make css) from the npm package. */\n";
// PurgeCSS keeps Bootstrap's own banner and the source map comment; both go, and
// @charset, which means nothing inlined and nothing once not first (the file is ASCII).
const css = result.css
  .replace('@charset "UTF-8";', "")
  .replace(/\/\*!.*?\*\//s, "")
  .replace(/\/\*# sourceMappingURL=.*?\*\//, "")
  .trim();
await writeFile(output, `${banner}${css}\n`);

const classes = new Set(source.replace(/url\([^)]*\)/g, "").match(/(?<=\.)-?[_a-zA-Z][\w-]*/g));
await writeFile(BOOTSTRAP_CLASSES, `${[...classes].sort().join("\n")}\n`);

const kb = (text) => (Buffer.byteLength(text) / 1024).toFixed(1);
console.log(
  `${relative(root, output)}: ${kb(css)} KB of Bootstrap's ${kb(source)} KB`,
);
