/** Tandem inside JupyterLab: Share (top bar, File menu, command palette) with a scoped,
 * revocable link instead of jupyter-collaboration's link that carries the owner's token;
 * a People side panel (who is here, who asks to join, who has access, Revoke, Follow). */

import {
  ILabShell,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { CommandToolbarButton, shareIcon, usersIcon } from '@jupyterlab/ui-components';

import { documentPath, notebookOf } from './notebook';
import { PeoplePanel } from './people';
import { openShareDialog } from './share';
import { guardCellModels } from './ydoc-guards';

export const CommandIDs = {
  share: 'tandem:share',
  people: 'tandem:people',
  /** jupyter-collaboration's "Share Jupyter Server Link": its plugin is disabled by the
   * server's page config, and this id (which its top-bar item and any shortcut name)
   * now opens Tandem's Share. */
  collaborationShare: 'collaboration:shared-link'
};

const share: JupyterFrontEndPlugin<void> = {
  id: '@jupyter-tandem/labextension:share',
  description: "Share the open notebook or its folder with Tandem's scoped, revocable links.",
  autoStart: true,
  optional: [ICommandPalette, IMainMenu],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null, mainMenu: IMainMenu | null) => {
    const { commands } = app;
    const execute = async () => {
      const path = documentPath(app.shell.currentWidget);
      if (path === null) {
        Notification.info('Open the notebook you want to share, then choose Share.', { autoClose: 5000 });
        return;
      }
      await openShareDialog(path);
    };
    commands.addCommand(CommandIDs.share, {
      label: 'Share…',
      caption: 'Share this notebook or its folder with a link you can revoke (Tandem)',
      icon: shareIcon,
      execute
    });
    if (!commands.hasCommand(CommandIDs.collaborationShare)) {
      commands.addCommand(CommandIDs.collaborationShare, {
        label: 'Share…',
        caption: 'Share with a link you can revoke (Tandem)',
        icon: shareIcon,
        execute
      });
    }
    palette?.addItem({ command: CommandIDs.share, category: 'Tandem' });
    mainMenu?.fileMenu.addGroup([{ command: CommandIDs.share }], 5);
    const button = new CommandToolbarButton({ commands, id: CommandIDs.share, label: 'Share' });
    button.id = 'tandem-share-button';
    button.addClass('tandem-TopBarShare');
    app.shell.add(button, 'top', { rank: 990 });
  }
};

const people: JupyterFrontEndPlugin<void> = {
  id: '@jupyter-tandem/labextension:people',
  description: 'Who is in the open notebook, who has access; Revoke, Admit, Follow.',
  autoStart: true,
  optional: [ILabShell, ICommandPalette],
  activate: (app: JupyterFrontEnd, labShell: ILabShell | null, palette: ICommandPalette | null) => {
    const panel = new PeoplePanel();
    panel.title.icon = usersIcon;
    app.shell.add(panel, 'right', { rank: 600 });
    const update = () => panel.setNotebook(notebookOf(app.shell.currentWidget));
    labShell?.currentChanged.connect(update);
    app.restored.then(update);
    app.commands.addCommand(CommandIDs.people, {
      label: 'People in This Notebook',
      caption: 'Who is here, who has access; Revoke and Follow (Tandem)',
      icon: usersIcon,
      execute: () => {
        update();
        app.shell.activateById(panel.id);
      }
    });
    palette?.addItem({ command: CommandIDs.people, category: 'Tandem' });
  }
};

const ydocGuard: JupyterFrontEndPlugin<void> = {
  id: '@jupyter-tandem/labextension:ydoc-guard',
  description: "Cells take a concurrent write that lost (a run's state written by the server and a client at once) without an error.",
  autoStart: true,
  activate: () => guardCellModels()
};

export default [share, people, ydocGuard];
