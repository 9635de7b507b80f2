/** Tandem's Share dialog in JupyterLab: a link to the current notebook or its folder with a
 * role (and the plain warning for `run`), an expiry, max uses, approval, anonymous guests
 * and a label; Copy; and this path's existing links, each with Revoke. The link names
 * only Tandem's join page and a fresh code: never the owner's token. Under JupyterHub it
 * also shares with a hub user or group by name (see ./hub.ts). */

import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { api, covers, folderOf, isLive, type Invitation, type Role } from './api';
import { h, relative, replace } from './dom';
import { HubSharing } from './hub';

export const RUN_WARNING =
  'Run executes code as you, on your account: whoever you share it with can read, change and delete ' +
  'your files and use anything your account can reach. Give it only to people you trust with your account.';

const ROLES: ReadonlyArray<[Role, string]> = [
  ['view', 'View: see the notebook and who is there'],
  ['edit', 'Edit: change cells'],
  ['run', 'Run: change cells and run code']
];

const EXPIRIES: ReadonlyArray<[number, string]> = [
  [3600, '1 hour'],
  [8 * 3600, '8 hours'],
  [24 * 3600, '24 hours'],
  [7 * 24 * 3600, '7 days'],
  [30 * 24 * 3600, '30 days']
];
const DEFAULT_EXPIRY = 24 * 3600;

let counter = 0;

/** The dialog's body: the form, the new link, and the existing links for this path. */
export class ShareBody extends Widget {
  private readonly status: HTMLElement;
  private readonly created: HTMLElement;
  private readonly existing: HTMLElement;
  private readonly hub: HubSharing;

  constructor(private readonly path: string) {
    super();
    const id = `tandem-share-${++counter}`;
    this.addClass('tandem-Share');
    const folder = folderOf(path);
    const scope = h('select', { id: `${id}-scope`, name: 'scope' },
      h('option', { value: 'file', selected: true }, `This notebook (${path})`),
      h('option', { value: 'folder' }, `Its folder (${folder || 'the whole server root'})`)
    ) as HTMLSelectElement;
    const role = h('select', { id: `${id}-role`, name: 'role' },
      ROLES.map(([value, label]) => h('option', { value, selected: value === 'edit' }, label))
    ) as HTMLSelectElement;
    const warning = h('p', { class: 'tandem-Share-warning', role: 'note', hidden: true }, RUN_WARNING);
    role.addEventListener('change', () => (warning.hidden = role.value !== 'run'));
    const expiry = h('select', { id: `${id}-expiry`, name: 'expires_in' },
      EXPIRIES.map(([seconds, label]) => h('option', { value: String(seconds), selected: seconds === DEFAULT_EXPIRY }, label))
    ) as HTMLSelectElement;
    const maxUses = h('input', { id: `${id}-max`, name: 'max_uses', type: 'number', min: '1', placeholder: 'no limit' }) as HTMLInputElement;
    const approval = h('input', { id: `${id}-approval`, name: 'approval_required', type: 'checkbox' }) as HTMLInputElement;
    const anonymous = h('input', { id: `${id}-anonymous`, name: 'anonymous_allowed', type: 'checkbox' }) as HTMLInputElement;
    const label = h('input', { id: `${id}-label`, name: 'label', type: 'text', maxlength: '80', placeholder: 'e.g. Homework pair' }) as HTMLInputElement;
    const create = h('button', { class: 'jp-mod-styled jp-mod-accept tandem-Share-create', type: 'button' }, 'Create link') as HTMLButtonElement;
    this.status = h('p', { class: 'tandem-Share-status', role: 'status', 'aria-live': 'polite' });
    this.created = h('div', { class: 'tandem-Share-created' });
    this.existing = h('div', { class: 'tandem-Share-existing' });

    const field = (forId: string, text: string, control: HTMLElement) =>
      h('div', { class: 'tandem-Share-field' }, h('label', { for: forId }, text), control);
    const check = (control: HTMLElement, text: string) =>
      h('label', { class: 'tandem-Share-check' }, control, ` ${text}`);

    const hubPlaceholder = h('div', { class: 'tandem-Share-hub', 'data-tandem-hub-sharing': true, hidden: true });
    const hubList = h('div', { class: 'tandem-Share-hubGrants', hidden: true });
    const linkOnly = [
      field(`${id}-max`, 'Max uses', maxUses),
      check(approval, 'Ask me before letting each person in'),
      check(anonymous, 'Allow people to stay anonymous'),
      field(`${id}-label`, 'Label (for you)', label)
    ];
    const expiryLabel = h('label', { for: `${id}-expiry` }, 'Link works for');
    this.hub = new HubSharing(id, hubPlaceholder, hubList, () => [path, folder], (kind) => {
      for (const element of linkOnly) element.hidden = kind !== 'link';
      expiryLabel.textContent = kind === 'link' ? 'Link works for' : 'Access lasts';
      create.textContent = kind === 'link' ? 'Create link' : 'Share';
      this.say('');
    }, (message, error) => this.say(message, error));

    create.addEventListener('click', async () => {
      const target = this.hub.target();
      if (target !== null) {
        if (target.name === '') {
          this.say(`Give the name of a hub ${target.kind}.`, true);
          this.hub.focusName();
          return;
        }
        create.disabled = true;
        try {
          const shared = await this.hub.share(scope.value === 'folder' ? folder : path, role.value as Role, Number(expiry.value));
          const who = shared.grant.kind === 'group' ? `everyone in the hub group ${shared.grant.name}` : `hub user ${shared.grant.name}`;
          replace(this.created, h('p', {}, `Shared with ${who}: ${shared.grant.role} until ${relative(shared.grant.expires_at)}, from their own hub login.`));
          this.say(shared.message || 'Shared. Revoke it here or in People.');
        } catch (error) {
          this.say(`Nothing was shared: ${(error as Error).message}`, true);
        } finally {
          create.disabled = false;
        }
        return;
      }
      const uses = maxUses.value.trim();
      if (uses !== '' && !(Number.isInteger(Number(uses)) && Number(uses) >= 1)) {
        this.say('Max uses must be a whole number of at least 1, or empty for no limit.', true);
        return;
      }
      create.disabled = true;
      try {
        const made = await api.createInvitation({
          path: scope.value === 'folder' ? folder : path,
          role: role.value as Role,
          expires_in: Number(expiry.value),
          ...(uses === '' ? {} : { max_uses: Number(uses) }),
          approval_required: approval.checked,
          anonymous_allowed: anonymous.checked,
          label: label.value.trim()
        });
        this.showCreated(made.link, made.invitation);
        this.say('Link created. Anyone with it can join as you chose; revoke it here or in People.');
        await this.refresh();
      } catch (error) {
        this.say(`Could not create the link: ${(error as Error).message}`, true);
      } finally {
        create.disabled = false;
      }
    });

    replace(this.node,
      this.created,
      this.status,
      h('form', { class: 'tandem-Share-form', onsubmit: (event: Event) => event.preventDefault() },
        field(`${id}-scope`, 'Share', scope),
        // On a hub: "Share with" a link, a hub user or a hub group, and the name.
        hubPlaceholder,
        field(`${id}-role`, 'People can', role),
        warning,
        h('div', { class: 'tandem-Share-field' }, expiryLabel, expiry),
        linkOnly,
        create
      ),
      h('h3', {}, 'Links for this notebook'),
      this.existing,
      hubList
    );
    void this.refresh();
  }

  private say(message: string, error = false): void {
    this.status.textContent = message;
    this.status.classList.toggle('tandem-mod-error', error);
  }

  private showCreated(link: string, invitation: Invitation): void {
    const field = h('input', { class: 'tandem-Share-link', type: 'text', readonly: true, value: link, 'aria-label': 'Share link' }) as HTMLInputElement;
    const copy = h('button', { class: 'jp-mod-styled tandem-Share-copy', type: 'button' }, 'Copy link');
    copy.addEventListener('click', () => {
      Clipboard.copyToSystem(link);
      copy.textContent = 'Copied';
    });
    replace(this.created,
      h('p', {}, `New ${invitation.role} link`, invitation.label ? ` “${invitation.label}”` : '', `, works ${relative(invitation.expires_at)}:`),
      h('div', { class: 'tandem-Share-linkRow' }, field, copy)
    );
    field.select();
  }

  /** This path's live links (its own and its folders'), each with Revoke. */
  async refresh(): Promise<void> {
    let invitations: Invitation[];
    try {
      invitations = await api.invitations();
    } catch (error) {
      replace(this.existing, h('p', { class: 'tandem-mod-error' }, `Could not list links: ${(error as Error).message}`));
      return;
    }
    const mine = invitations
      .filter((i) => isLive(i) && covers(i.scope_path, i.scope_is_folder, this.path))
      .sort((a, b) => b.created_at - a.created_at);
    if (mine.length === 0) {
      replace(this.existing, h('p', { class: 'tandem-muted' }, 'No links yet.'));
      return;
    }
    replace(this.existing, h('ul', { class: 'tandem-Share-list' }, mine.map((i) => this.row(i))));
  }

  private row(invitation: Invitation): HTMLElement {
    const revoke = h('button', { class: 'jp-mod-styled jp-mod-warn', type: 'button', 'aria-label': `Revoke ${invitation.label || invitation.role + ' link'}` }, 'Revoke') as HTMLButtonElement;
    revoke.addEventListener('click', async () => {
      revoke.disabled = true;
      try {
        await api.revokeInvitation(invitation.id);
        this.say('Link revoked: it no longer works, and everyone who joined with it is out.');
      } catch (error) {
        this.say(`Could not revoke: ${(error as Error).message}`, true);
      }
      await this.refresh();
    });
    const uses = invitation.max_uses === null ? `${invitation.uses} used` : `${invitation.uses} of ${invitation.max_uses} used`;
    const what = invitation.scope_is_folder ? `folder ${invitation.scope_path || '(root)'}` : invitation.scope_path;
    return h('li', { 'data-invitation': invitation.id },
      h('span', { class: 'tandem-Share-what' }, h('b', {}, invitation.role), ' ', invitation.label ? `“${invitation.label}” ` : '', `· ${what}`),
      h('span', { class: 'tandem-muted' }, ` · ${uses} · ends ${relative(invitation.expires_at)}`,
        invitation.approval_required ? ' · asks you first' : ''),
      revoke
    );
  }
}

/** Open the Share dialog for `path` (a notebook or file the owner has open). */
export async function openShareDialog(path: string): Promise<void> {
  await showDialog({
    title: 'Share with Tandem',
    body: new ShareBody(path),
    buttons: [Dialog.okButton({ label: 'Done' })],
    focusNodeSelector: 'select'
  });
}
