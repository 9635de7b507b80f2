/** Running code: the execution API (HTTP) and the shared execution state the server keeps
 * in the document (`tandem:execution`), so everyone sees the queue and who ran what. */

import type * as Y from "yjs";

import { apiUrl, errorOf, requestJson } from "../shared/api";
import { sha256Hex } from "./sha256";

export interface Runner {
  username: string;
  name: string;
  color: string;
}

export interface KernelState {
  status: "none" | "starting" | "idle" | "busy" | "restarting" | "dead" | string;
  name?: string;
  display_name?: string;
}

export interface InputRequest {
  prompt: string;
  password: boolean;
  username: string;
  run_id: string;
}

export interface CellExecution {
  state: "queued" | "running" | "idle";
  run_id?: string;
  by?: Runner;
  input: InputRequest | null;
  truncated: boolean;
}

/** How the notebook's kernel runs: confined to the shared scope while it is shared for running. */
export interface SandboxState {
  confined: boolean;
  scope?: string;
  network?: string;
}

export function readSandbox(map: Y.Map<unknown>): SandboxState | null {
  const raw = map.get("sandbox") as any;
  if (!raw || typeof raw !== "object") return null;
  return { confined: Boolean(raw.confined), scope: raw.scope == null ? undefined : String(raw.scope), network: raw.network == null ? undefined : String(raw.network) };
}

/** Why the server last restarted the kernel, with when (seconds since the epoch). */
export function readNotice(map: Y.Map<unknown>): { text: string; at: number } | null {
  const raw = map.get("notice") as any;
  return raw && typeof raw === "object" && typeof raw.text === "string" ? { text: raw.text, at: Number(raw.at) || 0 } : null;
}

export const EXECUTION_MAP = "tandem:execution";

export function executionMap(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap(EXECUTION_MAP);
}

export function readKernel(map: Y.Map<unknown>): KernelState | null {
  const kernel = map.get("kernel") as KernelState | undefined;
  return kernel && typeof kernel === "object" && typeof kernel.status === "string" ? kernel : null;
}

function runner(value: any): Runner | undefined {
  if (!value || typeof value !== "object") return undefined;
  return { username: String(value.username ?? ""), name: String(value.name ?? value.username ?? ""), color: String(value.color ?? "") };
}

export function readCellExecution(map: Y.Map<unknown>, cellId: string): CellExecution | null {
  const raw = map.get(`cell:${cellId}`) as any;
  if (!raw || typeof raw !== "object") return null;
  const state = raw.state === "queued" || raw.state === "running" ? raw.state : "idle";
  const input =
    raw.input && typeof raw.input === "object" && typeof raw.input.run_id === "string"
      ? {
          prompt: String(raw.input.prompt ?? ""),
          password: Boolean(raw.input.password),
          username: String(raw.input.username ?? ""),
          run_id: raw.input.run_id,
        }
      : null;
  return { state, run_id: raw.run_id, by: runner(raw.by), input, truncated: Boolean(raw.truncated) };
}

export type RunResult =
  | { ok: true }
  | { ok: false; reason: "source_changed"; cellId: string }
  | { ok: false; reason: "error"; status: number; message: string };

export class ExecutionClient {
  constructor(
    private readonly baseUrl: string,
    private readonly path: string,
  ) {}

  private url(action: string): string {
    return apiUrl(this.baseUrl, `tandem/api/execution/${action}`, this.path);
  }

  /** Whether the server offers execution, and whether this user may run. */
  async probe(): Promise<{ available: boolean; canRun: boolean }> {
    try {
      const { status, body } = await requestJson("GET", this.url("state"));
      if (status !== 200 || !body) return { available: false, canRun: false };
      return { available: true, canRun: Boolean(body.can_run) };
    } catch {
      return { available: false, canRun: false };
    }
  }

  /** Queue cells; each carries the hash of the source this user saw. */
  async run(cells: { id: string; source: string }[]): Promise<RunResult> {
    const body = { cells: cells.map((cell) => ({ id: cell.id, source_hash: sha256Hex(cell.source) })) };
    const response = await requestJson("POST", this.url("run"), body);
    if (response.status === 202 || response.status === 200) return { ok: true };
    const failure = errorOf(response.status, response.body);
    if (failure.reason === "source_changed") {
      return { ok: false, reason: "source_changed", cellId: String(response.body?.cell_id ?? "") };
    }
    return { ok: false, reason: "error", status: failure.status, message: failure.message };
  }

  async interrupt(): Promise<boolean> {
    return (await requestJson("POST", this.url("interrupt"), {})).status === 200;
  }

  async restart(): Promise<boolean> {
    return (await requestJson("POST", this.url("restart"), {})).status === 200;
  }

  async answer(runId: string, value: string): Promise<boolean> {
    return (await requestJson("POST", this.url("input"), { run_id: runId, value })).status === 200;
  }
}
