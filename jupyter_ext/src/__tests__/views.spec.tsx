import { act, fireEvent, render, screen } from '@testing-library/react';
import React from 'react';

import { CourseModel } from '../state';
import { IPanelActions } from '../widgets/actions';
import { CourseView } from '../widgets/CourseView';
import { cluster, FakeAPI } from './fixtures';

function recorder(confirm = true) {
  const log: string[] = [];
  const actions: IPanelActions = {
    openNotebook: async path => {
      log.push(`open ${path}`);
    },
    insertCode: async code => {
      log.push(`insert ${code}`);
    },
    openDashboard: (url, title) => {
      log.push(`dashboard ${url}`);
    },
    confirmStop: async name => {
      log.push(`confirm ${name}`);
      return confirm;
    },
    saveIfDirty: async path => {
      log.push(`save ${path}`);
    }
  };
  return { actions, log };
}

async function setup(confirm = true) {
  const api = new FakeAPI();
  const model = new CourseModel(api);
  const { actions, log } = recorder(confirm);
  render(<CourseView model={model} actions={actions} />);
  await act(async () => {
    await model.refreshProgram();
  });
  return { api, model, log };
}

describe('the Course panel', () => {
  it('shows loading, then the program with notebook badges', async () => {
    const api = new FakeAPI();
    const model = new CourseModel(api);
    const { actions } = recorder();
    render(<CourseView model={model} actions={actions} />);
    expect(screen.getByText('Loading the program…')).toBeTruthy();
    await act(async () => {
      await model.refreshProgram();
    });
    expect(screen.getByText('The course')).toBeTruthy();
    expect(screen.getByText('not in your home yet')).toBeTruthy();
    expect(screen.getByText('Cluster: 2 workers × 1 core, 2 GiB each')).toBeTruthy();
  });

  it('opens a session and its main notebook', async () => {
    const { api, log } = await setup();
    await act(async () => {
      fireEvent.click(
        screen.getByRole('button', { name: 'Open session Dask hands on' })
      );
    });
    expect(api.calls).toContain('open:dask');
    expect(log).toEqual(['open course/dask/check.ipynb']);
    expect(screen.getByText('Added: check.ipynb.')).toBeTruthy();
  });

  it('shows an empty state, then cluster cards with their actions', async () => {
    const { api, model, log } = await setup();
    await act(async () => {
      await model.refreshClusters();
    });
    expect(screen.getByText(/No cluster yet/)).toBeTruthy();
    api.clustersValue = [cluster({ workers: 1, workers_requested: 2 })];
    await act(async () => {
      await model.refreshClusters();
    });
    expect(screen.getByText('Running: workers 1/2')).toBeTruthy();
    expect(screen.getByText('2 cores · 4.0 GiB')).toBeTruthy();
    await act(async () => {
      fireEvent.click(screen.getByText('Insert code'));
      fireEvent.click(screen.getByText('Dashboard'));
    });
    expect(log[0]).toBe('insert from dask_gateway import Gateway');
    expect(log[1]).toMatch(/^dashboard \/user\/a\/proxy\//);
    fireEvent.change(screen.getByLabelText('Workers for cluster abcdef01'), {
      target: { value: '3' }
    });
    await act(async () => {
      fireEvent.click(screen.getByText('Scale'));
    });
    expect(api.calls).toContain('scale:abcdef0123456789:3');
  });

  it('stops a cluster only after confirmation', async () => {
    const { api, model } = await setup(false);
    api.clustersValue = [cluster()];
    await act(async () => {
      await model.refreshClusters();
    });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Stop cluster abcdef01' }));
    });
    expect(api.calls.some(c => c.startsWith('stop:'))).toBe(false);
  });

  it('says what to do when the gateway is down', async () => {
    const { api, model } = await setup();
    api.fail.clusters = {
      message:
        'The Dask Gateway cannot be reached right now. Wait a minute and try again.',
      reason: 'gateway-unreachable'
    };
    await act(async () => {
      await model.refreshClusters().catch(() => undefined);
    });
    expect(screen.getByRole('alert').textContent).toMatch(/cannot be reached/);
  });

  it('builds the options form from the gateway fields', async () => {
    const { api, model } = await setup();
    await act(async () => {
      await model.refreshClusters();
      fireEvent.click(screen.getByText('Options…'));
    });
    expect(await screen.findByLabelText('Cluster options')).toBeTruthy();
    fireEvent.change(screen.getByDisplayValue('1'), { target: { value: '9' } });
    await act(async () => {
      fireEvent.click(screen.getByText('Start cluster'));
    });
    expect(screen.getByText('Worker cores must be at most 4.')).toBeTruthy();
    expect(api.calls.some(c => c.startsWith('create:'))).toBe(false);
    expect(model.creating).toBe(false);
  });

  it('starts an adaptive cluster with changed settings from the form', async () => {
    const { api, model } = await setup();
    await act(async () => {
      await model.refreshClusters();
      fireEvent.click(screen.getByText('Options…'));
    });
    expect(await screen.findByLabelText('Cluster options')).toBeTruthy();
    fireEvent.change(screen.getByDisplayValue('1'), { target: { value: '2' } });
    fireEvent.click(screen.getByLabelText('Adaptive (workers follow the load)'));
    fireEvent.change(screen.getByLabelText('Minimum workers'), {
      target: { value: '1' }
    });
    fireEvent.change(screen.getByLabelText('Maximum workers'), {
      target: { value: '3' }
    });
    await act(async () => {
      fireEvent.click(screen.getByText('Start cluster'));
    });
    const create = api.calls.find(c => c.startsWith('create:'));
    expect(create).toBeDefined();
    const request = JSON.parse(create!.slice('create:'.length));
    expect(request.options.worker_cores).toBe(2);
    expect(request.adaptive).toEqual({ minimum: 1, maximum: 3 });
    expect(request.workers).toBeUndefined();
  });

  it('says so when the cluster limit is reached', async () => {
    const { api, model } = await setup();
    api.createCluster = async () => {
      api.calls.push('create');
      throw {
        message:
          'You already have 3 clusters, the most allowed. Stop one before starting another.',
        reason: 'limit'
      };
    };
    await act(async () => {
      await model.refreshClusters();
    });
    await act(async () => {
      fireEvent.click(screen.getByText('New cluster'));
    });
    expect(api.calls).toContain('create');
    expect(screen.getByRole('alert').textContent).toMatch(/Stop one before/);
    expect(model.creating).toBe(false);
  });

  it('says what to do when a session cannot be synced', async () => {
    const { api } = await setup();
    api.fail['open:dask'] = {
      message:
        'Your copy of this session could not be updated. Your files are unchanged; try again.',
      reason: 'sync-failed'
    };
    await act(async () => {
      fireEvent.click(
        screen.getByRole('button', { name: 'Open session Dask hands on' })
      );
    });
    expect(screen.getByRole('alert').textContent).toMatch(/files are unchanged/);
  });
});

describe('a cluster card', () => {
  it('follows the requested workers until the student types', async () => {
    const { api, model } = await setup();
    api.clustersValue = [
      cluster({ status: 'pending', workers: 0, workers_requested: null })
    ];
    await act(async () => {
      await model.refreshClusters();
    });
    expect(screen.getByText(/^Pending/)).toBeTruthy();
    api.clustersValue = [cluster({ workers: 2, workers_requested: 2 })];
    await act(async () => {
      await model.refreshClusters();
    });
    const input = screen.getByLabelText(
      'Workers for cluster abcdef01'
    ) as HTMLInputElement;
    expect(input.value).toBe('2');
    fireEvent.change(input, { target: { value: '5' } });
    api.clustersValue = [cluster({ workers: 2, workers_requested: 3 })];
    await act(async () => {
      await model.refreshClusters();
    });
    expect(input.value).toBe('5');
  });
});

describe('the quiz', () => {
  it('checks an answer and explains it', async () => {
    const { api, model } = await setup();
    await act(async () => {
      await model.loadQuiz('dask');
    });
    fireEvent.click(screen.getByLabelText('A. map'));
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Check' }));
    });
    expect(api.calls).toContain('answer:dask:0:A');
    expect(screen.getByText(/Not quite: you chose A, the answer is B/)).toBeTruthy();
    expect(model.quizzes.dask.score).toEqual({ answered: 1, correct: 0, total: 1 });
    fireEvent.click(screen.getByLabelText('B. shuffle'));
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Check' }));
    });
    expect(screen.getByText(/Right: B\. The shuffle\./)).toBeTruthy();
    // Right at the second try: the score counts the first answer only.
    expect(model.quizzes.dask.score).toEqual({ answered: 1, correct: 0, total: 1 });
  });
});
