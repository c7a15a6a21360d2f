/**
 * What the views ask JupyterLab to do; index.ts provides the real ones, the
 * component tests provide recorders.
 */
import { IClassAPI } from '../classview';

export interface IPanelActions {
  openNotebook(path: string): Promise<void>;
  insertCode(code: string): Promise<void>;
  openDashboard(url: string, title: string): void;
  confirmStop(name: string): Promise<boolean>;
  /** Save the notebook at `path` (relative to the home) if it is open with unsaved changes. */
  saveIfDirty(path: string): Promise<void>;
  /** Teachers: show the live quiz view (made to be projected) in the main area. */
  openLiveView?(): void;
  /** Ask the teacher to confirm an action on a student (a dialog): true to go on. */
  confirmAction?(title: string, body: string): Promise<boolean>;
  /** The class view's calls (the tests give a fake; else the course API). */
  classAPI?: IClassAPI;
}
