/** Sharing with a hub user or group in Tandem's Share dialog, when the server runs under
 * JupyterHub (`GET /tandem/api/hub-shares` says so): the "Share with" choice and the name
 * (checked by the server against the hub), and the hub grants covering the path, each
 * with Revoke. Hidden on a server without a hub. */

import { call, covers, isLive } from './api';
import { h, relative, replace } from './dom';
import type { HubGrant, HubSharing as HubSharingInfo, Role } from './records';

export interface HubShared {
  grant: HubGrant;
  hub_share: boolean;
  message: string;
}

export interface HubTarget {
  kind: 'user' | 'group';
  name: string;
}

export const hubApi = {
  info: (): Promise<HubSharingInfo> => call<HubSharingInfo>('GET', 'hub-shares'),
  share: (body: { path: string; role: Role; expires_in: number; user?: string; group?: string }): Promise<HubShared> =>
    call<HubShared>('POST', 'hub-shares', body),
  revoke: (id: string): Promise<void> => call<void>('DELETE', `grants/${encodeURIComponent(id)}`)
};

/** "bob" or "group ta". */
export function hubName(grant: HubGrant): string {
  return grant.kind === 'group' ? `group ${grant.name}` : grant.name;
}

/** The hub part of the Share dialog: fills `placeholder` and `list` once the server says
 * it runs under a hub; `onChange` hears when the choice moves between a link and a name. */
export class HubSharing {
  private readonly choice: HTMLSelectElement;
  private readonly name: HTMLInputElement;
  private readonly nameRow: HTMLElement;
  private readonly nameLabel: HTMLElement;

  constructor(
    id: string,
    private readonly placeholder: HTMLElement,
    private readonly list: HTMLElement,
    private readonly paths: () => string[],
    onChange: (target: 'link' | 'user' | 'group') => void,
    private readonly say: (message: string, error?: boolean) => void
  ) {
    this.choice = h('select', { id: `${id}-with`, name: 'share_with' },
      h('option', { value: 'link', selected: true }, 'A link'),
      h('option', { value: 'user' }, 'A hub user'),
      h('option', { value: 'group' }, 'A hub group')
    ) as HTMLSelectElement;
    this.name = h('input', { id: `${id}-hub-name`, name: 'hub_name', type: 'text', autocomplete: 'off',
      spellcheck: 'false', placeholder: 'their name on the hub' }) as HTMLInputElement;
    this.nameLabel = h('label', { for: `${id}-hub-name` }, 'Hub user');
    this.nameRow = h('div', { class: 'tandem-Share-field', hidden: true }, this.nameLabel, this.name);
    this.choice.addEventListener('change', () => {
      const kind = this.choice.value as 'link' | 'user' | 'group';
      this.nameRow.hidden = kind === 'link';
      this.nameLabel.textContent = kind === 'group' ? 'Hub group' : 'Hub user';
      onChange(kind);
      if (kind !== 'link') this.name.focus();
    });
    replace(this.placeholder,
      h('div', { class: 'tandem-Share-field' }, h('label', { for: `${id}-with` }, 'Share with'), this.choice),
      this.nameRow
    );
    void this.refresh();
  }

  /** The chosen hub user or group, or null for a link. */
  target(): HubTarget | null {
    const kind = this.choice.value;
    return kind === 'user' || kind === 'group' ? { kind, name: this.name.value.trim() } : null;
  }

  focusName(): void {
    this.name.focus();
  }

  /** Share with the chosen name; the server's message on failure (nothing was shared). */
  async share(path: string, role: Role, expiresIn: number): Promise<HubShared> {
    const target = this.target();
    if (target === null || target.name === '') throw new Error(`Give the name of a hub ${target?.kind ?? 'user'}.`);
    const shared = await hubApi.share({ path, role, expires_in: expiresIn, [target.kind]: target.name });
    this.name.value = '';
    await this.refresh();
    return shared;
  }

  /** Shown only under a hub: the choice, and the hub grants covering these paths. */
  async refresh(): Promise<void> {
    let info: HubSharingInfo;
    try {
      info = await hubApi.info();
    } catch {
      return; // an older server: links only
    }
    if (info.hub === null) return;
    this.placeholder.hidden = false;
    this.list.hidden = false;
    const mine = info.grants
      .filter((g) => isLive(g) && g.status === 'active' &&
        this.paths().some((path) => covers(g.scope_path, g.scope_is_folder, path)))
      .sort((a, b) => b.created_at - a.created_at);
    replace(this.list,
      h('h3', {}, 'Hub users and groups with access'),
      mine.length === 0 ? h('p', { class: 'tandem-muted' }, 'Nobody on the hub yet.') :
        h('ul', { class: 'tandem-Share-list' }, mine.map((g) => this.row(g)))
    );
  }

  private row(grant: HubGrant): HTMLElement {
    const revoke = h('button', { class: 'jp-mod-styled jp-mod-warn', type: 'button', 'aria-label': `Revoke ${hubName(grant)}` },
      'Revoke') as HTMLButtonElement;
    revoke.addEventListener('click', async () => {
      revoke.disabled = true;
      try {
        await hubApi.revoke(grant.id);
        this.say(`${hubName(grant)} no longer has access; their open notebook closes.`);
      } catch (error) {
        this.say(`Could not revoke: ${(error as Error).message}`, true);
      }
      await this.refresh();
    });
    const what = grant.scope_is_folder ? `folder ${grant.scope_path || '(root)'}` : grant.scope_path;
    return h('li', { 'data-hub-grant': grant.id },
      h('span', { class: 'tandem-Share-what' }, h('b', {}, hubName(grant)), ` · ${grant.role} · ${what}`),
      h('span', { class: 'tandem-muted' }, ` · ends ${relative(grant.expires_at)}`),
      revoke
    );
  }
}
