import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, findChromium } from "./helpers/chromium.js";
import { Store } from "../dist/cache/store.js";
import { dag, workspace } from "./helpers/workspace.js";

const PIPELINE = `stages:
  numbers: { params: { count: 3 } }
  square:
    inputs: { values: numbers.values }
  total:
    inputs: { values: square.squares }
  figures:
    inputs: { values: square.squares }
`;

/** Two named runs, the second with square's offset changed, and their report. */
function reportOfTwoRuns(): { dir: string; html: string; file: string } {
  const dir = workspace(PIPELINE);
  expect(dag(dir, "run", "--name", "before").code).toBe(0);
  expect(dag(dir, "run", "--name", "after", "--set", "square.offset=1").code).toBe(0);
  const r = dag(dir, "report", "before", "after", "-o", "out/report.html");
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^wrote out\/report\.html \(\d+\.\d MiB, \d+ ms\)/);
  const file = join(dir, "out", "report.html");
  return { dir, html: readFileSync(file, "utf8"), file };
}

describe("dag report", () => {
  it("writes one page that holds everything it shows: figures inlined, charts as SVG, no script, nothing to fetch", () => {
    const { html } = reportOfTwoRuns();
    // Nothing outside the file: no http(s) URL, no relative src, no script; a policy that forbids fetching.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/src="(?!data:)/);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain(`content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"`);
    // The Markdown's image is inlined from the same output; the one it names but that is not there is said, not linked.
    expect(html).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+" alt="the bars">/);
    expect(html).toContain("(gone: not among this output's files)");
    // The figure no Markdown named is shown with its name.
    expect(html).toMatch(/<img src="data:image\/png;base64,[^"]+" alt="extra\.png"><figcaption class="muted">extra\.png/);
    // The timing chart and the kind's chart for each run, rendered in Node to SVG.
    expect(html.match(/<svg[^>]*class="marks"/g)?.length).toBe(1 + 2);
    // Several runs: the param that differs, and figures with their change from the first run.
    expect(html).toMatch(/<td>square\.offset<\/td><td><code>0<\/code><\/td><td><code>1<\/code><\/td>/);
    // 0,1,4 -> 1,2,5: total's sum 5 -> 8, figures' max 4 -> 5.
    expect(html).toMatch(/<td>total sum\.sum<\/td><td><span class="num">5<\/span><\/td><td><span class="num up">8 \(\+3\)<\/span><\/td>/);
    expect(html).toMatch(/<td>report\.max<\/td><td><span class="num">4<\/span><\/td><td><span class="num up">5 \(\+1\)<\/span><\/td>/);
    // Stages with nothing to show (numbers' and square's items are bare numbers) get no section.
    expect(html).not.toContain('id="stage-numbers"');
    expect(html).not.toContain('id="stage-square"');
    expect(html).toContain('id="stage-figures"');
    // The graph: numbers came from the cache in the second run, square ran again.
    expect(html).toMatch(/<b>numbers<\/b><span class="chip ran">before: 3 ran[^<]*<\/span><br><span class="chip cached">after: 3 cached<\/span>/);
    expect(html).toMatch(/<b>square<\/b><span class="muted">from numbers<\/span><br><span class="chip ran">before: 3 ran/);
  });

  it("a figure or data file gone from the cache (gc, a damaged disk) is said in its place; the rest of the page is whole", () => {
    const { dir } = reportOfTwoRuns();
    const store = new Store(join(dir, ".dag"));
    const before = [...store.runsNewestFirst()].find((r) => r.name === "before")!;
    const output = store.readTask(before.stages["figures"]!.tasks[""]!.key)!.outputs["report"]!;
    if (output.type !== "artifact") throw new Error("figures.report should be an artifact");
    for (const name of ["bars", "rows"]) rmSync(store.blobPath(output.files[name]!.hash));
    expect(dag(dir, "report", "before", "after", "-o", "again.html").code).toBe(0);
    const html = readFileSync(join(dir, "again.html"), "utf8");
    expect(html).toContain("(the bars: not among this output's files)");
    expect(html).toContain("(rows is not in the cache any more)");
    // The second run's figures and chart are still there.
    expect(html).toMatch(/<img src="data:image\/png;base64,[^"]+" alt="the bars">/);
    expect(html.match(/<svg[^>]*class="marks"/g)?.length).toBe(2);
  });

  it("without runs named, reports the newest run; with no run at all, says how to make one", () => {
    const dir = workspace(PIPELINE);
    const none = dag(dir, "report");
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no runs recorded yet: dag run records one/);
    dag(dir, "run");
    expect(dag(dir, "report").code).toBe(0);
    expect(readFileSync(join(dir, "results", "report.html"), "utf8")).toMatch(/<h1>dag report: \d{8}T\d{9}Z-[0-9a-f]+<\/h1>/);
    expect(dag(dir, "report", "nope").stderr).toMatch(/no run named or with id "nope"/);
  });
});

const chromium = findChromium();
if (!chromium) console.warn("SKIPPED: the report's browser test: no Chromium here (apt-get install chromium, or CHROMIUM=path)");

describe.skipIf(!chromium)("dag report in headless Chromium", () => {
  let browser: Browser;
  let file: string;
  beforeAll(() => {
    browser = Browser.launch(chromium!);
    file = reportOfTwoRuns().file;
  });
  afterAll(async () => browser?.close());

  for (const [label, width, height, mobile] of [["a 1280 px screen", 1280, 900, false], ["a phone (390 x 844)", 390, 844, true]] as const) {
    it(`opens from disk on ${label}: no console error, no request but the file, every chart drawn, nothing wider than the screen`, async () => {
      const page = await browser.newPage();
      const url = pathToFileURL(file).href;
      await page.open(url, width, height, mobile);
      expect(page.errors).toEqual([]);
      // data: URLs are the page's own bytes; anything else would be a fetch.
      expect(page.requests.filter((r) => r !== url && !r.startsWith("data:"))).toEqual([]);
      const charts = await page.evaluate<{ svgs: number; empty: number }>(`(() => {
        const svgs = [...document.querySelectorAll("svg")];
        const drawn = (svg) => [...svg.querySelectorAll(".role-mark > *")].some((m) => (m.getAttribute("d") || "").length > 0 || m.tagName === "text" || Number(m.getAttribute("width")) > 0);
        return { svgs: svgs.length, empty: svgs.filter((s) => !drawn(s)).length };
      })()`);
      expect(charts).toEqual({ svgs: 3, empty: 0 });
      // Every image decoded; the page does not scroll sideways (wide tables scroll in their own box).
      expect(await page.evaluate<number>(`[...document.images].filter((i) => !i.complete || i.naturalWidth === 0).length`)).toBe(0);
      expect(await page.evaluate<number>(`document.documentElement.scrollWidth - window.innerWidth`)).toBeLessThanOrEqual(0);
      // Text stays readable: no chart or figure is drawn wider than the screen.
      expect(await page.evaluate<number>(`[...document.querySelectorAll("svg, img")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).length`)).toBe(0);
    });
  }
});
