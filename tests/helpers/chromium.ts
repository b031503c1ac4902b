/**
 * A real headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
 * fd 3 in, fd 4 out, messages ended by NUL), with no npm package in between. Finds Debian's
 * `chromium` (or CHROMIUM=path); tests skip, and say so, when there is none.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

export function findChromium(): string | undefined {
  for (const candidate of [process.env["CHROMIUM"], "chromium", "chromium-browser", "google-chrome"]) {
    if (candidate && spawnSync(candidate, ["--version"], { encoding: "utf8" }).status === 0) return candidate;
  }
  return undefined;
}

type Message = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };

export class Browser {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((m: Message) => void)[] = [];
  private constructor(private readonly child: ChildProcess, private readonly profile: string) {
    let buffer = "";
    (child.stdio[4] as Readable).on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      let end: number;
      while ((end = buffer.indexOf("\0")) >= 0) {
        const message = JSON.parse(buffer.slice(0, end)) as Message;
        buffer = buffer.slice(end + 1);
        if (message.id !== undefined) {
          const waiter = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (message.error) waiter?.reject(new Error(message.error.message));
          else waiter?.resolve(message.result ?? {});
        } else for (const l of this.listeners) l(message);
      }
    });
  }

  static launch(executable: string): Browser {
    const profile = mkdtempSync(join(tmpdir(), "dag-chromium-"));
    const child = spawn(executable, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", `--user-data-dir=${profile}`, "--remote-debugging-pipe", "about:blank"], {
      stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"],
    });
    return new Browser(child, profile);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.next++;
    (this.child.stdio[3] as Writable).write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  on(listener: (m: Message) => void): void {
    this.listeners.push(listener);
  }

  /** A fresh page (a tab) with its session id. */
  async newPage(): Promise<Page> {
    const { targetId } = (await this.send("Target.createTarget", { url: "about:blank" })) as { targetId: string };
    const { sessionId } = (await this.send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    return new Page(this, sessionId);
  }

  async close(): Promise<void> {
    await this.send("Browser.close").catch(() => undefined);
    await new Promise((r) => (this.child.exitCode !== null ? r(null) : this.child.once("exit", r)));
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  /** Console errors, uncaught exceptions, log entries of level error. */
  readonly errors: string[] = [];
  /** Every URL the page asked the network layer for. */
  readonly requests: string[] = [];
  constructor(private readonly browser: Browser, readonly sessionId: string) {
    browser.on((m) => {
      if (m.sessionId !== sessionId) return;
      const p = m.params ?? {};
      if (m.method === "Runtime.consoleAPICalled" && (p["type"] === "error" || p["type"] === "assert")) this.errors.push(JSON.stringify(p["args"]));
      if (m.method === "Runtime.exceptionThrown") this.errors.push(JSON.stringify(p["exceptionDetails"]));
      if (m.method === "Log.entryAdded" && (p["entry"] as { level: string }).level === "error") this.errors.push((p["entry"] as { text: string }).text);
      if (m.method === "Network.requestWillBeSent") this.requests.push((p["request"] as { url: string }).url);
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.sessionId);
  }

  async open(url: string, width: number, height: number, mobile = false): Promise<void> {
    for (const domain of ["Page", "Runtime", "Log", "Network"]) await this.send(`${domain}.enable`);
    await this.send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile });
    const loaded = new Promise<void>((resolve) => this.browser.on((m) => m.sessionId === this.sessionId && m.method === "Page.loadEventFired" && resolve()));
    await this.send("Page.navigate", { url });
    await loaded;
  }

  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.send("Runtime.evaluate", { expression, returnByValue: true })) as { result: { value: T }; exceptionDetails?: unknown };
    if (r.exceptionDetails) throw new Error(`evaluate failed: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  }

  /** A PNG of the page: the viewport, or the whole page when `fullPage`. */
  async screenshot(fullPage = false): Promise<Buffer> {
    const r = (await this.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: fullPage })) as { data: string };
    return Buffer.from(r.data, "base64");
  }
}
