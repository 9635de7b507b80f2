/** The editor page: header (title, role, connection, people), toolbar, the notebook, and
 * the states that replace it (access revoked, notebook gone, error). */

import { clear, h } from "../shared/dom";
import type { CellView } from "./cell-view";
import type { CellType } from "./commands";
import { type EditorConfig, ROLE_LABELS } from "./config";
import { Connection, type LiveDocument } from "./connection";
import { bannerFor, type ConnectionState, OFFLINE_AFTER_MS } from "./connection-policy";
import { ExecutionClient, type KernelState, type SandboxState } from "./execution";
import { type Mode, NotebookView } from "./notebook-view";
import { openShareDialog } from "../owner/share";
import { FrameHost } from "./output-frame";
import { PeopleBar } from "./people-bar";
import { ActivityTracker, peopleFrom, type Person, personFrom, viewerCountFrom } from "./presence";

const TOAST_MS = 4000;

export class App {
  private readonly connection: Connection;
  private readonly execution: ExecutionClient;
  private readonly frames: FrameHost;
  private readonly activity = new ActivityTracker();
  private readonly peopleBar: PeopleBar;
  private readonly root: HTMLElement;
  private readonly statusPill: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly toasts: HTMLElement;
  private readonly kernelStatus: HTMLElement;
  private readonly sandboxStatus: HTMLElement;
  private readonly toolbar: HTMLElement;
  private readonly runGroup: HTMLElement;
  private readonly typeSelect: HTMLSelectElement;
  private readonly body: HTMLElement;
  private view: NotebookView | null = null;
  private live: LiveDocument | null = null;
  private state: ConnectionState = { kind: "connecting" };
  private executionAvailable = false;
  private bannerTimer: ReturnType<typeof setTimeout> | null = null;
  private unsynced = false;
  private people: Person[] = [];
  private kernel: KernelState | null = null;

  constructor(
    private readonly config: EditorConfig,
    mount: HTMLElement,
  ) {
    const me = config.me;
    this.connection = new Connection(config.baseUrl, config.path, {
      state: (state) => this.onState(state),
      document: (live, reset) => this.onDocument(live, reset),
      saved: (status) => this.toast(status === "success" || status === "skipped" ? "Saved" : `Save failed (${status})`),
    }, config.roomToken ?? null);
    this.execution = new ExecutionClient(config.baseUrl, config.path);
    this.frames = new FrameHost(config.frameUrl);
    const mePerson = personFrom(0, { user: { ...me, display_name: me.display_name || me.name } }, true)!;
    this.peopleBar = new PeopleBar(mePerson, (person) => this.follow(person));

    const name = config.path.split("/").pop() ?? config.path;
    document.title = `${name} — Tandem`;
    this.statusPill = h("span", { class: "tc-status", role: "status", "data-connection": "connecting" }, "Connecting…");
    this.kernelStatus = h("span", { class: "tc-kernel", role: "status", hidden: true });
    this.sandboxStatus = h("span", { class: "tc-sandbox", hidden: true });
    this.typeSelect = h(
      "select",
      { class: "tc-type-select", "aria-label": "Cell type" },
      h("option", { value: "code" }, "Code"),
      h("option", { value: "markdown" }, "Markdown"),
      h("option", { value: "raw" }, "Raw"),
    );
    this.typeSelect.addEventListener("change", () => this.command(() => this.changeActiveType(this.typeSelect.value as CellType)));
    this.runGroup = h(
      "div",
      { class: "tc-toolbar-group", role: "group", "aria-label": "Run", hidden: true },
      this.button("Run", "Run the selected cell (Shift+Enter)", () => this.view?.execute("run-and-advance"), "tc-run"),
      this.button("Run all", "Run every code cell", () => this.runAll(), "tc-run-all"),
      this.button("Interrupt", "Interrupt the kernel (I, I)", () => void this.interrupt(), "tc-interrupt"),
      this.button("Restart", "Restart the kernel (0, 0)", () => void this.restart(), "tc-restart"),
      this.kernelStatus,
      this.sandboxStatus,
    );
    const editGroup = h(
      "div",
      { class: "tc-toolbar-group", role: "group", "aria-label": "Edit" },
      this.button("+ Code", "Insert a code cell below (B)", () => this.view?.insertBelow("code"), "tc-add-code"),
      this.button("+ Text", "Insert a markdown cell below", () => this.view?.insertBelow("markdown"), "tc-add-markdown"),
      this.button("Move up", "Move the cell up (Ctrl+Shift+Up)", () => this.view?.execute("move-up"), "tc-move-up"),
      this.button("Move down", "Move the cell down (Ctrl+Shift+Down)", () => this.view?.execute("move-down"), "tc-move-down"),
      this.button("Delete", "Delete the cell (D, D)", () => this.view?.execute("delete"), "tc-delete"),
      this.typeSelect,
      this.button("Undo", "Undo your last change (Z or Ctrl+Z)", () => this.view?.execute("undo"), "tc-undo"),
      this.button("Redo", "Redo (Shift+Z or Ctrl+Y)", () => this.view?.execute("redo"), "tc-redo"),
      this.button("Save", "Save now (Ctrl+S)", () => this.save(), "tc-save"),
    );
    this.toolbar = h("div", { class: "tc-toolbar", role: "toolbar", "aria-label": "Notebook actions" }, editGroup, this.runGroup);
    if (!me.can_edit) this.toolbar.hidden = true;
    const roleBadge = h("span", { class: `tc-role tc-role--${me.role}` }, me.can_edit ? ROLE_LABELS[me.role] : "View only");
    const header = h(
      "header",
      { class: "tc-topbar" },
      h(
        "div",
        { class: "tc-title" },
        h("span", { class: "tc-brand" }, "Tandem"),
        h("h1", { class: "tc-name", title: config.path }, name),
        roleBadge,
        this.statusPill,
      ),
      this.peopleBar.element,
      me.role === "owner" ? this.ownerActions(config) : null,
    );
    this.banner = h("div", { class: "tc-banner", role: "status", "aria-live": "polite", hidden: true });
    this.toasts = h("div", { class: "tc-toasts", role: "status", "aria-live": "polite" });
    this.body = h("div", { class: "tc-body" });
    const help = h(
      "details",
      { class: "tc-help" },
      h("summary", {}, "Keyboard shortcuts"),
      h(
        "dl",
        {},
        ...[
          ["Enter", "edit the selected cell"],
          ["Esc", "leave the editor (command mode)"],
          ["Shift+Enter", "run (or render) and go to the next cell"],
          ["Ctrl+Enter", "run in place"],
          ["↑ / ↓, J / K", "select the previous / next cell"],
          ["A / B", "insert a cell above / below"],
          ["D, D", "delete the cell"],
          ["M / Y / R", "make it markdown / code / raw"],
          ["Shift+M", "merge with the cell below"],
          ["Ctrl+Shift+-", "split the cell at the cursor"],
          ["Z / Shift+Z", "undo / redo your own changes"],
          ["Ctrl+S", "save"],
          ["I, I / 0, 0", "interrupt / restart the kernel"],
        ].flatMap(([key, what]) => [h("dt", {}, h("kbd", {}, key)), h("dd", {}, what)]),
      ),
    );
    this.root = h(
      "div",
      { class: "tc-shell", "data-role": me.role },
      h("a", { class: "tc-skip", href: "#notebook" }, "Skip to the notebook"),
      header,
      this.toolbar,
      this.banner,
      this.body,
      help,
      this.toasts,
    );
    clear(mount);
    mount.appendChild(this.root);
    window.addEventListener("online", () => this.renderBanner());
    window.addEventListener("offline", () => this.renderBanner());
    window.addEventListener("beforeunload", (event) => {
      if (this.connection.reloading) return; // its unsent edits are kept (stash.ts)
      if (this.unsynced && this.state.kind !== "online") event.preventDefault();
    });
    // Any deliberate move of your own ends follow mode (not pressing an avatar, not moving
    // the keyboard focus with Tab, not a lone modifier key).
    for (const type of ["keydown", "mousedown", "wheel", "touchstart"]) {
      document.addEventListener(type, (event) => {
        if (this.view?.following == null || !event.isTrusted) return;
        if (event instanceof KeyboardEvent) {
          if (["Tab", "Shift", "Control", "Alt", "Meta"].includes(event.key)) return;
        } else if ((event.target as Element | null)?.closest?.(".tc-people")) {
          return;
        }
        this.follow(null);
      }, { capture: true, passive: true });
    }
  }

  async start(): Promise<void> {
    const probe = this.config.me.can_run ? this.probeExecution() : Promise.resolve();
    await Promise.all([this.connection.start(), probe]);
  }

  /** Run controls appear once the server says this person may run code here. */
  private async probeExecution(): Promise<void> {
    const probe = await this.execution.probe();
    this.executionAvailable = probe.available && probe.canRun;
    this.runGroup.hidden = !this.canRun();
    this.view?.setRunnable(this.canRun());
    this.showKernel(this.kernel);
  }

  private canRun(): boolean {
    return this.config.me.can_run && this.executionAvailable && this.state.kind !== "revoked";
  }

  private readOnly(): boolean {
    return !this.config.me.can_edit || ["revoked", "gone", "fatal"].includes(this.state.kind);
  }

  private button(label: string, title: string, action: () => void, className: string): HTMLButtonElement {
    return h("button", { type: "button", class: `tc-button ${className}`, title, onclick: () => this.command(action) }, label);
  }

  /** Run a toolbar action, then give the keyboard back to the notebook. */
  private command(action: () => void): void {
    action();
    const cell = this.view?.active;
    if (cell && this.view?.mode === "command") cell.element.focus({ preventScroll: true });
  }

  // -- the document ---------------------------------------------------------------

  private onDocument(live: LiveDocument, reset: boolean): void {
    this.view?.dispose();
    this.live = live;
    const me = this.config.me;
    const awareness = live.provider.awareness;
    awareness.setLocalState({
      user: { username: me.username, name: me.name, display_name: me.display_name, initials: me.initials, color: me.color, role: me.role },
      cell: null,
    });
    awareness.on("change", ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
      if (this.live !== live) return;
      const now = Date.now();
      for (const id of [...added, ...updated]) this.activity.observe(id, awareness.getStates().get(id), now);
      for (const id of removed) this.activity.forget(id);
      this.people = peopleFrom(awareness.getStates(), awareness.clientID);
      const following = this.view?.following ?? null;
      if (following !== null && !awareness.getStates().has(following)) this.follow(null);
      this.peopleBar.render(this.people, this.view?.following ?? null, viewerCountFrom(awareness.getStates()));
      this.view?.setPeople(this.people);
      if (following !== null && [...added, ...updated].includes(following)) this.view?.followUpdate();
    });
    live.notebook.ydoc.on("update", (_update: Uint8Array, origin: unknown) => {
      if (origin !== live.provider && this.state.kind !== "online") this.unsynced = true;
    });
    let mounted = false;
    const mount = () => {
      if (mounted || this.live !== live) return;
      mounted = true;
      clear(this.body);
      this.view = new NotebookView(live.notebook, awareness, this.activity, this.frames, {
        username: me.username,
        readOnly: () => this.readOnly(),
        canRun: () => this.canRun(),
        save: () => this.save(),
        run: (cells) => void this.run(cells),
        interrupt: () => void this.interrupt(),
        restart: () => void this.restart(),
        answer: (runId, value) => void this.answer(runId, value),
        kernelChanged: (kernel) => this.showKernel(kernel),
        sandboxChanged: (sandbox) => this.showSandbox(sandbox),
        noticeChanged: (notice, initial) => {
          if (notice && !initial) this.toast(notice.text);
        },
        modeChanged: (mode, cell) => this.onModeChange(mode, cell),
        notice: (message) => this.toast(message),
        rendered: () => {
          document.documentElement.dataset.tandemReady = "true";
          performance.mark("tandem:rendered");
        },
      });
      this.view.mount(this.body);
      this.peopleBar.render(this.people, null);
    };
    // Show the notebook once the first sync brought its cells (no empty flash).
    if (live.provider.synced) mount();
    else live.provider.once("sync", () => mount());
    this.peopleBar.render([], null);
    if (reset) this.toast("The notebook was reloaded from the server: its history was reset there.");
  }

  private onModeChange(_mode: Mode, cell: CellView | null): void {
    if (cell) this.typeSelect.value = cell.type;
  }

  private changeActiveType(type: CellType): void {
    const command = type === "code" ? "to-code" : type === "markdown" ? "to-markdown" : "to-raw";
    this.view?.execute(command);
  }

  private follow(person: Person | null): void {
    if (!this.view) return;
    this.view.following = person?.clientId ?? null;
    this.peopleBar.render(this.people, this.view.following);
    if (person) {
      this.toast(`Following ${person.name}. Move or type to stop.`);
      this.view.followUpdate();
    }
  }

  // -- connection state -------------------------------------------------------------

  private onState(state: ConnectionState): void {
    this.state = state;
    if (state.kind === "online") this.unsynced = false;
    this.renderBanner();
    if (state.kind === "revoked" || state.kind === "gone" || state.kind === "fatal") this.showEnd(state);
  }

  private renderBanner(): void {
    const banner = bannerFor(this.state, Date.now(), navigator.onLine);
    this.statusPill.dataset.connection = banner.state;
    this.statusPill.textContent = banner.label;
    this.root.dataset.connection = banner.state;
    this.banner.hidden = !banner.message || ["revoked", "gone", "error"].includes(banner.state);
    this.banner.textContent = banner.message;
    this.banner.className = `tc-banner tc-banner--${banner.state}`;
    if (this.bannerTimer !== null) clearTimeout(this.bannerTimer);
    this.bannerTimer = null;
    if (this.state.kind === "reconnecting" && banner.state === "reconnecting") {
      this.bannerTimer = setTimeout(() => this.renderBanner(), OFFLINE_AFTER_MS - (Date.now() - this.state.since) + 50);
    }
  }

  /** The owner's Share (Tandem's dialog, as on the folder page) and People (who has
   * access, requests to join) right from the notebook. */
  private ownerActions(config: EditorConfig): HTMLElement {
    document.body.dataset.baseUrl = config.baseUrl; // where the owner pages' API calls go
    const share = h("button", { class: "tc-owner-share", type: "button", title: "Share this notebook with a link you can revoke" }, "Share");
    share.addEventListener("click", () => openShareDialog(config.path, false));
    const people = h("a", { class: "tc-owner-people", href: `${config.baseUrl}tandem/people`, target: "_blank", rel: "noopener",
      title: "Who has access, requests to join, revoke" }, "People");
    return h("div", { class: "tc-owner-actions", role: "group", "aria-label": "Sharing" }, share, people);
  }

  /** Access revoked, file gone, or an error: the notebook goes away, and nothing more is sent. */
  private showEnd(state: ConnectionState): void {
    this.view?.dispose();
    this.view = null;
    this.live?.provider.awareness.setLocalState(null);
    this.connection.destroy();
    this.toolbar.hidden = true;
    this.runGroup.hidden = true;
    this.peopleBar.render([], null);
    // The role no longer holds ("can edit" beside "Your access was revoked" misleads).
    if (state.kind === "revoked") this.root.querySelector(".tc-role")?.remove();
    const title =
      state.kind === "revoked" ? "Your access was revoked" : state.kind === "gone" ? "This notebook is gone" : "Something went wrong";
    const detail =
      state.kind === "revoked"
        ? `${state.message !== "Your access was revoked" ? `${state.message}. ` : ""}You can no longer see or change this notebook. Ask its owner for a new link if you need it again.`
        : state.kind === "gone"
          ? "It was deleted or moved while you had it open."
          : state.kind === "fatal"
            ? state.message
            : "";
    clear(this.body);
    this.body.appendChild(
      h("section", { class: `tc-end tc-end--${state.kind}`, role: "alert" }, h("h2", {}, title), h("p", {}, detail)),
    );
  }

  // -- saving and running -----------------------------------------------------------

  private save(): void {
    if (!this.config.me.can_edit) return;
    if (!this.connection.save()) this.toast("Not connected: your changes are kept and saved when the connection is back.");
  }

  private async run(cells: CellView[]): Promise<void> {
    if (!this.canRun()) return;
    const code = cells.filter((cell) => cell.type === "code");
    if (code.length === 0) return;
    try {
      const result = await this.execution.run(code.map((cell) => ({ id: cell.id, source: cell.model.getSource() })));
      if (!result.ok && result.reason === "source_changed") {
        this.toast("Nothing ran: a cell changed before your request arrived. Check it and run again.");
      } else if (!result.ok) {
        this.toast(result.status === 403 ? "You may not run code in this notebook." : `Could not run: ${result.message}`);
      }
    } catch {
      this.toast("Could not reach the server to run the cell.");
    }
  }

  private runAll(): void {
    if (this.view) void this.run(this.view.codeCells());
  }

  private async interrupt(): Promise<void> {
    if (this.canRun() && !(await this.execution.interrupt().catch(() => false))) this.toast("Could not interrupt the kernel.");
  }

  private async restart(): Promise<void> {
    if (!this.canRun()) return;
    if (!window.confirm("Restart the kernel? Every variable is lost, for everyone in this notebook.")) return;
    if (!(await this.execution.restart().catch(() => false))) this.toast("Could not restart the kernel.");
  }

  private async answer(runId: string, value: string): Promise<void> {
    if (!(await this.execution.answer(runId, value).catch(() => false))) this.toast("Your answer did not reach the kernel.");
  }

  private showSandbox(sandbox: SandboxState | null): void {
    this.sandboxStatus.hidden = !sandbox?.confined;
    if (sandbox?.confined) {
      this.sandboxStatus.textContent = `Confined to ${sandbox.scope || "/"}`;
      this.sandboxStatus.title =
        "This notebook is shared for running: everyone's code, yours too, runs in a sandbox that " +
        `reaches only ${sandbox.scope || "/"} (network: ${sandbox.network ?? "none"}).`;
    }
  }

  private showKernel(kernel: KernelState | null): void {
    this.kernel = kernel;
    this.kernelStatus.hidden = kernel === null || !this.canRun();
    if (kernel) {
      this.kernelStatus.dataset.status = kernel.status;
      this.kernelStatus.textContent = `${kernel.display_name || kernel.name || "Kernel"}: ${kernel.status}`;
    }
  }

  toast(message: string): void {
    const item = h("p", { class: "tc-toast" }, message);
    this.toasts.appendChild(item);
    setTimeout(() => item.remove(), TOAST_MS);
  }
}
