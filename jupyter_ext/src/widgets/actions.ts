/**
 * What the views ask JupyterLab to do; index.ts provides the real ones, the
 * component tests provide recorders.
 */
export interface IPanelActions {
  openNotebook(path: string): Promise<void>;
  insertCode(code: string): Promise<void>;
  openDashboard(url: string, title: string): void;
  confirmStop(name: string): Promise<boolean>;
}
