/** The People side panel for the current notebook: who is here now (from the document's
 * awareness, whose `user` fields the server stamps: name, colour and role can be trusted),
 * who asks to join (Admit / Refuse), who has access (Revoke), and Follow. */

import { Widget } from '@lumino/widgets';

import { api, covers, type Grant, isLive } from './api';
import { h, relative, replace } from './dom';
import { Follower } from './follow';
import { granteeName } from './grantee';
import { type AwarenessLike, cellIndexOf, type NotebookLike } from './notebook';

const GRANTS_POLL_MS = 2000;

export interface Present {
  clientId: number;
  username: string;
  name: string;
  color: string;
  role: string;
  cell: number | null;
  isMe: boolean;
}

const COLOR = /^#[0-9a-fA-F]{3,8}$/;

/** One entry per person (their most recent tab wins), the page's own tab marked. */
export function presentPeople(awareness: AwarenessLike, cells: Parameters<typeof cellIndexOf>[1]): Present[] {
  const byUser = new Map<string, Present>();
  awareness.getStates().forEach((state, clientId) => {
    const user = state?.user;
    if (!user || typeof user !== 'object') return;
    const username = String(user.username ?? `client-${clientId}`);
    const person: Present = {
      clientId,
      username,
      name: String(user.display_name || user.name || username).slice(0, 64),
      color: typeof user.color === 'string' && COLOR.test(user.color) ? user.color : '#777777',
      role: typeof user.role === 'string' ? user.role : '',
      cell: cellIndexOf(state, cells),
      isMe: clientId === awareness.clientID
    };
    const seen = byUser.get(username);
    if (!seen || person.isMe || (!seen.isMe && (person.cell !== null || seen.cell === null))) {
      byUser.set(username, person);
    }
  });
  return [...byUser.values()].sort((a, b) => Number(b.isMe) - Number(a.isMe) || a.name.localeCompare(b.name));
}

function sameName(people: Present[], person: Present): boolean {
  return people.some((other) => other !== person && other.name === person.name);
}

/** A guest's awareness username is `guest-` and the start of their session hash. */
function grantOf(person: Present, grants: Grant[]): Grant | undefined {
  const match = /^guest-([0-9a-f]+)$/.exec(person.username);
  return match ? grants.find((g) => g.guest_session_id.startsWith(match[1]) && isLive(g) && g.status === 'active') : undefined;
}

export class PeoplePanel extends Widget {
  private notebook: NotebookLike | null = null;
  private grants: Grant[] = [];
  private grantsError = '';
  private timer: number | null = null;
  private readonly follower = new Follower(() => this.render());
  private readonly onAwareness = () => this.render();
  private readonly status: HTMLElement;
  private readonly body: HTMLElement;

  constructor() {
    super();
    this.id = 'tandem-people';
    this.addClass('tandem-People');
    this.title.caption = 'People in this notebook (Tandem)';
    this.status = h('p', { class: 'tandem-People-status', role: 'status', 'aria-live': 'polite' });
    this.body = h('div', { class: 'tandem-People-body' });
    replace(this.node, h('h2', {}, 'People'), this.status, this.body);
  }

  /** The notebook the owner now looks at (null: none). */
  setNotebook(notebook: NotebookLike | null): void {
    if (this.notebook?.widget === notebook?.widget) return;
    this.notebook?.awareness?.off('change', this.onAwareness);
    this.follower.stop();
    this.notebook = notebook;
    notebook?.awareness?.on('change', this.onAwareness);
    this.render();
    void this.refreshGrants();
  }

  protected onAfterAttach(): void {
    this.timer = window.setInterval(() => {
      if (this.isVisible) void this.refreshGrants();
    }, GRANTS_POLL_MS);
    void this.refreshGrants();
  }

  protected onBeforeDetach(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
  }

  protected onAfterShow(): void {
    void this.refreshGrants();
  }

  dispose(): void {
    this.follower.stop();
    this.notebook?.awareness?.off('change', this.onAwareness);
    super.dispose();
  }

  async refreshGrants(): Promise<void> {
    try {
      this.grants = await api.grants();
      this.grantsError = '';
    } catch (error) {
      this.grantsError = `Could not list who has access: ${(error as Error).message}`;
    }
    this.render();
  }

  private say(message: string, error = false): void {
    this.status.textContent = message;
    this.status.classList.toggle('tandem-mod-error', error);
  }

  private render(): void {
    const notebook = this.notebook;
    if (notebook === null) {
      replace(this.body, h('p', { class: 'tandem-muted' }, 'Open a notebook to see who is in it.'));
      return;
    }
    const awareness = notebook.awareness;
    const people = awareness ? presentPeople(awareness, notebook.cells()) : [];
    this.follower.track(notebook, awareness);
    const forPath = this.grants.filter((g) => covers(g.scope_path, g.scope_is_folder, notebook.path) && isLive(g));
    const pending = forPath.filter((g) => g.status === 'pending' && g.asking !== false);
    const active = forPath.filter((g) => g.status === 'active');
    const following = this.follower.target;
    replace(this.body,
      following !== null
        ? h('p', { class: 'tandem-People-following', role: 'status' },
            `Following ${people.find((p) => p.clientId === following)?.name ?? 'someone'}: scroll or click in the notebook to stop.`)
        : null,
      pending.length
        ? h('section', { class: 'tandem-People-requests', 'aria-label': 'Asking to join' },
            h('h3', {}, pending.length === 1 ? '1 person asks to join' : `${pending.length} people ask to join`),
            h('ul', {}, pending.map((g) => this.request(g))))
        : null,
      h('section', { class: 'tandem-People-here', 'aria-label': 'Here now' },
        h('h3', {}, 'Here now'),
        people.length
          ? h('ul', {}, people.map((p) => this.present(p, grantOf(p, active), sameName(people, p))))
          : h('p', { class: 'tandem-muted' }, 'Nobody else is here.')),
      h('section', { class: 'tandem-People-access', 'aria-label': 'Has access' },
        h('h3', {}, 'Has access'),
        this.grantsError ? h('p', { class: 'tandem-mod-error' }, this.grantsError) : null,
        active.length
          ? h('ul', {}, active.map((g) => this.access(g)))
          : h('p', { class: 'tandem-muted' }, 'Nobody has been given access yet. Use Share to invite people.'))
    );
  }

  private present(person: Present, grant: Grant | undefined, ambiguous: boolean): HTMLElement {
    const following = this.follower.target === person.clientId;
    // Two people with one name: tell them apart by who they are to the server.
    const tag = ambiguous ? ` · ${person.username.replace(/^guest-/, '#').slice(0, 8)}` : '';
    const where = person.cell === null ? '' : ` · cell ${person.cell + 1}`;
    const item = h('li', { class: 'tandem-People-person', 'data-client': String(person.clientId), 'data-name': person.name },
      h('span', { class: 'tandem-People-dot', style: `background-color: ${person.color}`, 'aria-hidden': 'true' }),
      h('span', { class: 'tandem-People-name' }, person.name, person.isMe ? ' (you)' : ''),
      h('span', { class: 'tandem-muted' }, `${tag}${person.role ? ` ${person.role}` : ''}${where}`)
    );
    if (!person.isMe) {
      const follow = h('button', { class: 'jp-mod-styled tandem-People-follow', type: 'button', 'aria-pressed': following ? 'true' : 'false' },
        following ? 'Stop following' : 'Follow');
      follow.addEventListener('click', () => (following ? this.follower.stop() : this.follower.follow(person.clientId)));
      item.append(follow);
    }
    if (grant) item.append(this.revokeButton(grant));
    return item;
  }

  private access(grant: Grant): HTMLElement {
    const seen = grant.last_seen ? `seen ${relative(grant.last_seen)}` : 'not seen yet';
    const scope = grant.scope_is_folder ? `folder ${grant.scope_path || '(root)'}` : grant.scope_path;
    return h('li', { class: 'tandem-People-grant', 'data-grant': grant.id },
      h('span', { class: 'tandem-People-name' }, granteeName(grant)),
      h('span', { class: 'tandem-muted' }, ` ${grant.role} · ${scope} · ${seen} · ends ${relative(grant.expires_at)}`),
      this.revokeButton(grant));
  }

  private revokeButton(grant: Grant): HTMLElement {
    const button = h('button', { class: 'jp-mod-styled jp-mod-warn tandem-People-revoke', type: 'button', 'aria-label': `Revoke ${granteeName(grant)}` }, 'Revoke') as HTMLButtonElement;
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await api.revokeGrant(grant.id);
        this.say(`${granteeName(grant)} was removed: their access ended now.`);
      } catch (error) {
        this.say(`Could not revoke ${granteeName(grant)}: ${(error as Error).message}`, true);
      }
      await this.refreshGrants();
    });
    return button;
  }

  private request(grant: Grant): HTMLElement {
    const decide = (decision: 'admit' | 'refuse') => async (event: Event) => {
      (event.currentTarget as HTMLButtonElement).disabled = true;
      try {
        await api.decide(grant.id, decision);
        this.say(decision === 'admit' ? `${granteeName(grant)} was let in.` : `${granteeName(grant)} was refused.`);
      } catch (error) {
        this.say(`Could not ${decision} ${granteeName(grant)}: ${(error as Error).message}`, true);
      }
      await this.refreshGrants();
    };
    return h('li', { class: 'tandem-People-request', 'data-grant': grant.id },
      h('span', { class: 'tandem-People-name' }, granteeName(grant)),
      h('span', { class: 'tandem-muted' }, ` wants to ${grant.role} · asked ${relative(grant.created_at)}`),
      h('button', { class: 'jp-mod-styled jp-mod-accept', type: 'button', onclick: decide('admit'), 'aria-label': `Admit ${granteeName(grant)}` }, 'Admit'),
      h('button', { class: 'jp-mod-styled', type: 'button', onclick: decide('refuse'), 'aria-label': `Refuse ${granteeName(grant)}` }, 'Refuse'));
  }
}
