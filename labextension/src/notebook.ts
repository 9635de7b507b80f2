/** The open notebook as this extension needs it, read from JupyterLab's widgets without
 * depending on the notebook package: its path, shared model, awareness and cells. */

import type { Widget } from '@lumino/widgets';

/** The y-protocols Awareness of the document (the shared model's, synced by the docprovider). */
export interface AwarenessLike {
  clientID: number;
  getStates(): Map<number, Record<string, any>>;
  on(event: 'change', listener: (...args: any[]) => void): void;
  off(event: 'change', listener: (...args: any[]) => void): void;
}

interface SharedCell {
  id: string;
  ysource?: { _item?: { id?: { client: number; clock: number } } | null };
}

export interface NotebookLike {
  widget: Widget;
  path: string;
  awareness: AwarenessLike | null;
  cells(): SharedCell[];
  /** Bring cell `index` into view (JupyterLab renders cells lazily). */
  scrollTo(index: number): void;
  /** The scrolling element the user moves. */
  scroller(): HTMLElement;
}

/** The path of a document widget, if `widget` is one. */
export function documentPath(widget: Widget | null): string | null {
  const context = (widget as any)?.context;
  return context && typeof context.path === 'string' ? context.path : null;
}

/** The notebook shown in `widget`, if it is a notebook panel. */
export function notebookOf(widget: Widget | null): NotebookLike | null {
  const panel = widget as any;
  const content = panel?.content;
  const path = documentPath(widget);
  if (path === null || !content || !('activeCellIndex' in content)) return null;
  const shared = () => panel.context?.model?.sharedModel;
  return {
    widget: widget as Widget,
    path,
    get awareness(): AwarenessLike | null {
      return shared()?.awareness ?? null;
    },
    cells: () => (shared()?.cells ?? []) as SharedCell[],
    scrollTo(index: number): void {
      if (typeof content.scrollToItem === 'function') {
        void content.scrollToItem(index, 'smart');
      } else {
        content.widgets?.[index]?.node?.scrollIntoView({ block: 'nearest' });
      }
    },
    scroller: () => (content.outerNode ?? content.node) as HTMLElement
  };
}

/** The cell index someone's awareness state points at: Tandem's editor publishes the
 * cell id (`cell`); JupyterLab publishes carets whose relative positions name the cell's
 * text (`type`, the id of the text's item). */
export function cellIndexOf(state: Record<string, any>, cells: SharedCell[]): number | null {
  if (typeof state.cell === 'string') {
    const index = cells.findIndex((cell) => cell.id === state.cell);
    if (index >= 0) return index;
  }
  const cursors: any[] = Array.isArray(state.cursors) ? state.cursors : [];
  const primary = cursors.find((c) => c && c.primary !== false) ?? cursors[0];
  const type = primary?.head?.type;
  if (!type || typeof type.client !== 'number') return null;
  const index = cells.findIndex((cell) => {
    const id = cell.ysource?._item?.id;
    return !!id && id.client === type.client && id.clock === type.clock;
  });
  return index >= 0 ? index : null;
}
