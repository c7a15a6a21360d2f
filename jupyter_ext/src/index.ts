/**
 * The Course sidebar: the program by session, one click to bring a session's
 * notebooks into the student's home, and their Dask Gateway clusters.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  IFrame,
  InputDialog,
  MainAreaWidget,
  showDialog
} from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';

import { CourseAPI } from './api';
import { shortName } from './format';
import { courseIcon } from './icon';
import { CourseModel } from './state';
import { IPanelActions } from './widgets/actions';
import { CoursePanel } from './widgets/CoursePanel';
import { LiveViewWidget } from './widgets/LiveViewWidget';

const PLUGIN_ID = 'jupyter-course-hub:plugin';
/** Where the current session is remembered across reloads. */
const STATE_KEY = 'jupyter-course-hub:current-session';

/** The commands of the Course sidebar, as they appear in the palette. */
export namespace CommandIDs {
  export const showPanel = 'course:show-panel';
  export const openSession = 'course:open-session';
  export const newCluster = 'course:new-cluster';
  export const stopCluster = 'course:stop-cluster';
  export const refresh = 'course:refresh';
  export const openLiveView = 'course:open-live-view';
}

/** The sidebar tab's look: a badge while a live question waits for the student. */
const TAB_CLASS = 'jp-Course-tab';
const LIVE_CLASS = 'jp-mod-live';

function makeActions(
  app: JupyterFrontEnd,
  tracker: INotebookTracker | null,
  model: CourseModel
): IPanelActions {
  let dashboards = 0;
  let liveView: MainAreaWidget<LiveViewWidget> | null = null;
  return {
    openLiveView() {
      if (!liveView || liveView.isDisposed) {
        liveView = new MainAreaWidget({ content: new LiveViewWidget(model.live) });
        liveView.id = 'course-live-view';
        liveView.title.label = 'Live quiz';
        liveView.title.caption = 'The live quiz, made to be projected';
        liveView.title.closable = true;
        liveView.title.icon = courseIcon;
        app.shell.add(liveView, 'main');
      }
      app.shell.activateById(liveView.id);
    },

    async openNotebook(path: string) {
      await app.commands.execute('docmanager:open', { path });
    },

    async insertCode(code: string) {
      let panel: NotebookPanel | null = tracker?.currentWidget ?? null;
      if (!panel) {
        panel = (await app.commands.execute('notebook:create-new', {
          kernelName: 'python3'
        })) as NotebookPanel;
      }
      await panel.context.ready;
      app.shell.activateById(panel.id);
      const notebook = panel.content;
      const active = notebook.activeCell;
      const reuse =
        active &&
        active.model.type === 'code' &&
        active.model.sharedModel.getSource() === '';
      if (!reuse) {
        NotebookActions.insertBelow(notebook);
      }
      notebook.activeCell?.model.sharedModel.setSource(code);
    },

    openDashboard(url: string, title: string) {
      const frame = new IFrame({
        sandbox: ['allow-scripts', 'allow-same-origin', 'allow-popups', 'allow-forms']
      });
      frame.url = url;
      const widget = new MainAreaWidget({ content: frame });
      widget.id = `course-dashboard-${++dashboards}`;
      widget.title.label = title;
      widget.title.closable = true;
      widget.title.icon = courseIcon;
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    },

    async saveIfDirty(path: string) {
      // The open notebook's unsaved changes would not be in the file handed in.
      const panel = tracker?.find(p => p.context.path === path);
      if (panel && panel.context.model.dirty) {
        await panel.context.save();
      }
    },

    async confirmStop(name: string) {
      const result = await showDialog({
        title: 'Stop this cluster?',
        body:
          `Cluster ${shortName(name)} and its workers stop; results kept in their ` +
          'memory are lost. Notebooks connected to it will need a new cluster.',
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Stop cluster' })]
      });
      return result.button.accept;
    },
    async confirmAction(title: string, body: string) {
      const result = await showDialog({
        title,
        body,
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Stop' })]
      });
      return result.button.accept;
    }
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The Course sidebar: sessions, notebooks and Dask Gateway clusters.',
  autoStart: true,
  optional: [
    ICommandPalette,
    INotebookTracker,
    ISettingRegistry,
    ILayoutRestorer,
    IStateDB
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    tracker: INotebookTracker | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    stateDB: IStateDB | null
  ) => {
    const model = new CourseModel(CourseAPI);
    const actions = makeActions(app, tracker, model);
    const panel = new CoursePanel(model, actions);
    panel.title.icon = courseIcon;
    panel.title.caption = 'Course';
    panel.title.className = TAB_CLASS;
    app.shell.add(panel, 'left', { rank: 50 });
    restorer?.add(panel, 'course-hub-panel');

    void model.refreshProgram();
    void model.loadMe();
    model.startPolling();
    // The live quiz is followed for the plugin's life, panel open or not; a
    // question shows as a badge on the tab and never takes the focus.
    model.live.start();
    let badge = false;
    model.live.changed.connect(() => {
      if (model.live.attention !== badge) {
        badge = model.live.attention;
        panel.title.className = badge ? `${TAB_CLASS} ${LIVE_CLASS}` : TAB_CLASS;
        panel.title.caption = badge
          ? 'Course: a live question is waiting for you'
          : 'Course';
      }
    });

    if (stateDB) {
      void stateDB.fetch(STATE_KEY).then(saved => {
        if (typeof saved === 'string' && model.currentSessionId === null) {
          model.setCurrentSession(saved);
        }
        let last = model.currentSessionId;
        model.changed.connect(() => {
          if (model.currentSessionId !== last && model.currentSessionId !== null) {
            last = model.currentSessionId;
            void stateDB.save(STATE_KEY, last);
          }
        });
      });
    }

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        const apply = () =>
          model.configure({
            refreshInterval: settings.get('refreshInterval').composite as number,
            defaultSession: settings.get('defaultSession').composite as string
          });
        apply();
        settings.changed.connect(apply);
      });
    }

    const { commands } = app;
    commands.addCommand(CommandIDs.showPanel, {
      label: 'Show the Course panel',
      execute: () => app.shell.activateById(panel.id)
    });

    commands.addCommand(CommandIDs.openSession, {
      label: args => {
        const s = model.program?.sessions.find(x => x.id === args.id);
        return s ? `Open session: ${s.title}` : 'Open a course session…';
      },
      execute: async args => {
        let id = args.id as string | undefined;
        const sessions = (model.program?.sessions ?? []).filter(
          s => s.notebooks.length
        );
        if (!id) {
          const choice = await InputDialog.getItem({
            title: 'Open a course session',
            items: sessions.map(s => s.title),
            current: Math.max(
              0,
              sessions.findIndex(
                s => s.id === (model.currentSessionId ?? model.defaultSession)
              )
            )
          });
          if (!choice.button.accept || choice.value === null) {
            return;
          }
          id = sessions.find(s => s.title === choice.value)?.id;
        }
        if (!id) {
          return;
        }
        app.shell.activateById(panel.id);
        const report = await model.openSession(id);
        if (report?.open) {
          await actions.openNotebook(report.open);
        }
      }
    });

    commands.addCommand(CommandIDs.newCluster, {
      label: 'New Dask cluster (session preset)',
      execute: async () => {
        app.shell.activateById(panel.id);
        await model.createCluster();
      }
    });

    commands.addCommand(CommandIDs.stopCluster, {
      label: 'Stop a Dask cluster…',
      execute: async args => {
        let name = args.name as string | undefined;
        const running = (model.clusters ?? []).filter(
          c => c.status === 'running' || c.status === 'pending'
        );
        if (!name && running.length === 1) {
          name = running[0].name;
        } else if (!name && running.length > 1) {
          const choice = await InputDialog.getItem({
            title: 'Stop which cluster?',
            items: running.map(c => c.name)
          });
          name = choice.button.accept ? (choice.value ?? undefined) : undefined;
        }
        if (name && (await actions.confirmStop(name))) {
          await model.stop(name);
        }
      },
      isEnabled: () => (model.clusters ?? []).length > 0
    });

    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh the Course panel',
      execute: async () => {
        await Promise.all([model.refreshProgram(), model.poll?.refresh()]);
      }
    });

    commands.addCommand(CommandIDs.openLiveView, {
      label: 'Course: open the live quiz view',
      caption:
        'The live quiz in large type, to project: the question and the answers as they come',
      isEnabled: () => model.me?.teacher ?? false,
      execute: () => actions.openLiveView?.()
    });

    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'Course' });
      }
    }
  }
};

export default plugin;
