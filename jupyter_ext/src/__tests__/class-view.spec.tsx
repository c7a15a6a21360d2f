import { act, fireEvent, render, screen, within } from '@testing-library/react';
import React from 'react';

import { ago, IClass, IClassAction, IClassAPI, totalsLine } from '../classview';
import { CourseModel } from '../state';
import { IPanelActions } from '../widgets/actions';
import { CLASS_REFRESH_MS, ClassView } from '../widgets/ClassView';
import { CourseView } from '../widgets/CourseView';
import { FakeAPI } from './fixtures';

const NOW = Date.parse('2026-12-04T10:00:00Z');

function classModel(): IClass {
  return {
    students: [
      {
        name: 'alice',
        status: 'running',
        last_activity: '2026-12-04T09:55:00Z',
        server_url: '/user/alice/',
        sessions: ['intro', 'dask'],
        selfcheck: { answered: 3, correct: 2 },
        live: { answered: 1, correct: 1 },
        handins: [
          { session: 'exam', received: '2026-12-04T09:00:00Z', late: false, count: 2 }
        ],
        clusters: [
          {
            name: 'ns.abc',
            status: 'RUNNING',
            workers: 2,
            cores: 3,
            memory: 6 * 2 ** 30
          }
        ]
      },
      {
        name: 'bob',
        status: 'never',
        last_activity: null,
        server_url: '/user/bob/',
        sessions: [],
        selfcheck: { answered: 0, correct: 0 },
        live: { answered: 0, correct: 0 },
        handins: [],
        clusters: []
      }
    ],
    totals: {
      students: 2,
      servers_running: 1,
      online: 1,
      clusters: 1,
      workers: 2,
      cores: 3,
      memory: 6 * 2 ** 30
    },
    limits: { max_clusters: 2, max_cores: 8, max_memory_gib: 16 },
    capacity: { max_clusters: 4, max_cores: 16, max_memory: 32 * 2 ** 30 },
    gateway_error: null
  };
}

class FakeClassAPI implements IClassAPI {
  calls: string[] = [];
  view = classModel();
  actions: IClassAction[] = [];
  async classView() {
    this.calls.push('view');
    return this.view;
  }
  async classActions() {
    return this.actions;
  }
  async stopStudentCluster(user: string, cluster: string) {
    this.calls.push(`stop-cluster ${user} ${cluster}`);
    const a: IClassAction = {
      id: 1,
      at: new Date(NOW).toISOString(),
      by: 'teacher',
      action: 'stop-cluster',
      user,
      target: cluster,
      result: 'stopped 1'
    };
    this.actions = [a];
    this.view = {
      ...this.view,
      students: [{ ...this.view.students[0], clusters: [] }, this.view.students[1]]
    };
    return a;
  }
  async stopStudentServer(user: string) {
    this.calls.push(`stop-server ${user}`);
    const a: IClassAction = {
      id: 2,
      at: new Date(NOW).toISOString(),
      by: 'teacher',
      action: 'stop-server',
      user,
      target: '',
      result: 'not-running'
    };
    this.actions = [a, ...this.actions];
    return a;
  }
}

describe('the class view figures', () => {
  it('reads last activity as minutes ago', () => {
    expect(ago(null, NOW)).toBe('never');
    expect(ago('2026-12-04T09:59:40Z', NOW)).toBe('just now');
    expect(ago('2026-12-04T09:55:00Z', NOW)).toBe('5 min ago');
    expect(ago('2026-12-04T07:00:00Z', NOW)).toBe('3 h ago');
  });

  it('puts the totals against the class capacity', () => {
    expect(totalsLine(classModel())).toBe(
      '1 of 2 servers running · 1 online · 1 of 4 clusters · 2 workers · 3 of 16 cores · 6.0 GiB of 32.0 GiB'
    );
  });
});

describe('the Teacher section', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: NOW, doNotFake: ['queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  async function show(api: FakeClassAPI, confirm = async () => true) {
    const asked: string[] = [];
    render(
      <ClassView
        api={api}
        confirm={async (title: string) => {
          asked.push(title);
          return confirm();
        }}
      />
    );
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: /Teacher: the class/ }));
      await Promise.resolve();
    });
    return asked;
  }

  it('shows a row per student with status, activity, work and clusters', async () => {
    const api = new FakeClassAPI();
    await show(api);
    const alice = screen.getByText('alice').closest('tr') as HTMLElement;
    expect(within(alice).getByRole('img', { name: 'Server running' })).toBeTruthy();
    expect(within(alice).getByText('5 min ago')).toBeTruthy();
    expect(within(alice).getByText('2/3')).toBeTruthy();
    expect(within(alice).getByText(/2 workers · 3 cores · 6.0 GiB/)).toBeTruthy();
    const link = within(alice).getByRole('link', { name: 'Open server' });
    expect(link.getAttribute('href')).toBe('/user/alice/');
    const bob = screen.getByText('bob').closest('tr') as HTMLElement;
    expect(within(bob).getByRole('img', { name: 'Never logged in' })).toBeTruthy();
    expect(within(bob).queryByRole('button', { name: 'Stop server' })).toBeNull();
    expect(screen.getByText(/1 of 2 servers running/)).toBeTruthy();
  });

  it('refreshes every 10 s while the page is visible', async () => {
    const api = new FakeClassAPI();
    await show(api);
    expect(api.calls).toEqual(['view']);
    await act(async () => {
      jest.advanceTimersByTime(CLASS_REFRESH_MS);
      await Promise.resolve();
    });
    expect(api.calls).toEqual(['view', 'view']);
  });

  it('stops a cluster after the teacher confirms, and lists the action', async () => {
    const api = new FakeClassAPI();
    const asked = await show(api);
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Stop cluster' }));
      await Promise.resolve();
    });
    await act(async () => {
      await Promise.resolve();
    });
    expect(asked).toEqual(["Stop alice's cluster?"]);
    expect(api.calls).toContain('stop-cluster alice ns.abc');
    expect(screen.queryByRole('button', { name: 'Stop cluster' })).toBeNull();
    const list = screen.getByRole('list', { name: 'Actions taken' });
    expect(
      within(list).getByText(/teacher stopped the clusters of alice/)
    ).toBeTruthy();
  });

  it('says when the server a teacher stopped was not running', async () => {
    const api = new FakeClassAPI();
    await show(api);
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Stop server' }));
      await Promise.resolve();
    });
    await act(async () => {
      await Promise.resolve();
    });
    expect(api.calls).toContain('stop-server alice');
    const list = screen.getByRole('list', { name: 'Actions taken' });
    expect(
      within(list).getByText(
        /teacher stopped the server of alice \(it was not running\)/
      )
    ).toBeTruthy();
  });

  it('does nothing when the teacher cancels', async () => {
    const api = new FakeClassAPI();
    await show(api, async () => false);
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Stop server' }));
      await Promise.resolve();
    });
    expect(api.calls).toEqual(['view']);
  });

  it('says why the clusters are unknown', async () => {
    const api = new FakeClassAPI();
    api.view = { ...classModel(), gateway_error: 'The Dask Gateway does not answer.' };
    await show(api);
    expect(
      screen.getByText(/Clusters unknown: The Dask Gateway does not answer/)
    ).toBeTruthy();
  });
});

describe('the panel', () => {
  async function panel(teacher: boolean) {
    const api = new FakeAPI();
    api.meValue = { name: teacher ? 'teacher' : 'alice', teacher };
    const model = new CourseModel(api);
    const classAPI = new FakeClassAPI();
    const actions: IPanelActions = {
      openNotebook: async () => undefined,
      insertCode: async () => undefined,
      openDashboard: () => undefined,
      confirmStop: async () => true,
      saveIfDirty: async () => undefined,
      confirmAction: async () => true,
      classAPI
    };
    render(<CourseView model={model} actions={actions} />);
    await act(async () => {
      await model.loadMe();
    });
    return classAPI;
  }

  it('has a Teacher section for teachers only', async () => {
    await panel(false);
    expect(screen.queryByRole('region', { name: 'Teacher' })).toBeNull();
  });

  it('shows the class to a teacher once opened, and asks nothing before', async () => {
    const classAPI = await panel(true);
    expect(await screen.findByRole('region', { name: 'Teacher' })).toBeTruthy();
    expect(classAPI.calls).toEqual([]);
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: /Teacher: the class/ }));
      await Promise.resolve();
    });
    expect(classAPI.calls).toEqual(['view']);
    expect(await screen.findByText('alice')).toBeTruthy();
  });
});
