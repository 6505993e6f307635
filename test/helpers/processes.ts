import { spawn, type ChildProcess } from "node:child_process";

/**
 * Long-running processes for integration tests: started, awaited until they print what says
 * they are ready, and stopped with SIGTERM. Their output is kept for failure messages.
 */

export interface Started {
  readonly child: ChildProcess;
  readonly output: string[];
}

export function startProcess(
  bin: string,
  args: string[],
  readyWhen: RegExp,
  what: string,
  timeoutMs = 60_000,
): Promise<Started> {
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} was not ready after ${timeoutMs} ms:\n${output.join("")}`));
    }, timeoutMs);
    let ready = false;
    const onData = (d: Buffer) => {
      output.push(d.toString());
      if (!ready && readyWhen.test(output.join(""))) {
        ready = true;
        clearTimeout(timer);
        resolve({ child, output });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${what} exited ${code}:\n${output.join("")}`));
    });
  });
}

export function stopProcess(
  p: Started | undefined,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<number | null> {
  return new Promise((resolve) => {
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) {
      return resolve(p?.child.exitCode ?? null);
    }
    p.child.once("exit", (code) => resolve(code));
    p.child.kill(signal);
  });
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not after ${timeoutMs} ms${last ? ` (${String(last)})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
