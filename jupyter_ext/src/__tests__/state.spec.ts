import { CourseModel, FAST_POLL } from '../state';
import { cluster, FakeAPI, program, session } from './fixtures';

function make(api = new FakeAPI(), options = {}) {
  const model = new CourseModel(api, options);
  let changes = 0;
  model.changed.connect(() => changes++);
  return { api, model, changes: () => changes };
}

describe('CourseModel', () => {
  it('loads the program or says why it cannot', async () => {
    const { api, model, changes } = make();
    await model.refreshProgram();
    expect(model.program?.course.title).toBe('The course');
    expect(changes()).toBeGreaterThan(0);
    api.fail.program = {
      message: 'The course manifest is invalid',
      reason: 'manifest-invalid'
    };
    await model.refreshProgram();
    expect(model.programError?.reason).toBe('manifest-invalid');
    expect(model.program).not.toBeNull(); // the last good program stays
  });

  it('opens a session once at a time and reports it', async () => {
    const { api, model } = make();
    await model.refreshProgram();
    const first = model.openSession('dask');
    expect(model.opening).toBe('dask');
    expect(await model.openSession('dask')).toBeNull(); // second click while syncing
    const report = await first;
    expect(report?.open).toBe('course/dask/check.ipynb');
    expect(model.currentSessionId).toBe('dask');
    expect(model.report?.lines).toEqual(['Added: check.ipynb.']);
    expect(api.calls.filter(c => c === 'open:dask')).toHaveLength(1);
    api.fail['open:dask'] = {
      message: 'Sync failed; try again.',
      reason: 'sync-failed'
    };
    expect(await model.openSession('dask')).toBeNull();
    expect(model.reportError).toEqual({
      message: 'Sync failed; try again.',
      reason: 'sync-failed',
      session: 'dask'
    });
    expect(model.opening).toBeNull();
  });

  it('uses the current session preset, then the default, then a default size', async () => {
    const api = new FakeAPI();
    api.programValue = program([
      session({ id: 'spark', cluster: null }),
      session({ id: 'dask' }),
      session({ id: 'evaluation' })
    ]);
    const { model } = make(api, { defaultSession: 'evaluation' });
    await model.refreshProgram();
    expect(model.newClusterRequest()).toEqual({ session: 'evaluation' });
    await model.openSession('dask');
    expect(model.newClusterRequest()).toEqual({ session: 'dask' });
    await model.openSession('spark'); // no preset: falls back to the default session
    expect(model.newClusterRequest()).toEqual({ session: 'evaluation' });
    model.configure({ defaultSession: '' });
    expect(model.newClusterRequest()).toEqual({ workers: 2 });
  });

  it('creates clusters and surfaces gateway warnings and errors', async () => {
    const { api, model } = make();
    await model.refreshProgram();
    await model.openSession('dask');
    api.createValue = cluster({ warning: 'Scaling to 3 instead.' });
    await model.createCluster();
    expect(api.calls).toContain('create:{"session":"dask"}');
    expect(model.createError).toEqual({
      message: 'Scaling to 3 instead.',
      reason: 'capped'
    });
    expect(model.creating).toBe(false);
    api.fail['create:{"workers":1}'] = {
      message: 'The Dask Gateway cannot be reached right now.',
      reason: 'gateway-unreachable'
    };
    expect(await model.createCluster({ workers: 1 })).toBeNull();
    expect(model.createError?.reason).toBe('gateway-unreachable');
  });

  it('keeps per-cluster errors with their cluster', async () => {
    const { api, model } = make();
    api.fail['stop:x'] = { message: 'You have no cluster named x.', reason: 'unknown' };
    await model.stop('x');
    expect(model.actionError).toEqual({
      message: 'You have no cluster named x.',
      reason: 'unknown',
      cluster: 'x'
    });
    expect(model.busy.size).toBe(0);
    await model.scale('y', 3);
    expect(api.calls).toContain('scale:y:3');
    expect(model.actionError).toBeNull();
  });

  it('polls faster while a cluster is on its way and backs off on errors', async () => {
    const { api, model } = make(new FakeAPI(), { refreshInterval: 10 });
    api.clustersValue = [cluster({ status: 'pending', workers: 0 })];
    model.startPolling();
    await model.refreshClusters();
    expect(model.poll?.frequency.interval).toBe(FAST_POLL);
    api.clustersValue = [cluster()];
    await model.refreshClusters();
    expect(model.poll?.frequency.interval).toBe(10000);
    expect(model.poll?.frequency.backoff).toBe(true);
    api.fail.clusters = {
      message: 'The Dask Gateway cannot be reached',
      reason: 'gateway-unreachable'
    };
    await expect(model.refreshClusters()).rejects.toBeTruthy();
    expect(model.clustersError?.reason).toBe('gateway-unreachable');
    expect(model.clusters).toHaveLength(1); // the last known list stays
    model.dispose();
  });
});
