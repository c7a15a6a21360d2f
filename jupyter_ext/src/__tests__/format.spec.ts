import {
  buildCreateRequest,
  clusterProgress,
  formatMemory,
  needsFastPoll,
  notebookBadge,
  presetLabel,
  reportLines,
  shortName
} from '../format';
import { cluster, fields, report } from './fixtures';

describe('clusterProgress', () => {
  it('goes pending -> running -> workers n/m', () => {
    expect(clusterProgress(cluster({ status: 'pending', workers: 0 })).label).toMatch(
      /^Pending/
    );
    const scaling = clusterProgress(cluster({ workers: 1, workers_requested: 2 }));
    expect(scaling).toEqual({ label: 'Running: workers 1/2', starting: true });
    expect(clusterProgress(cluster()).starting).toBe(false);
  });

  it('handles clusters made elsewhere and adaptive ones', () => {
    const elsewhere = cluster({ workers: 3, workers_requested: null });
    expect(clusterProgress(elsewhere).label).toBe('Running: 3 workers');
    const adaptive = cluster({ workers: 0, adaptive: { minimum: 1, maximum: 4 } });
    expect(clusterProgress(adaptive)).toEqual({
      label: 'Running: 0 workers (adaptive 1-4)',
      starting: true
    });
    expect(clusterProgress(cluster({ workers: null })).label).toMatch(/unknown/);
    expect(clusterProgress(cluster({ status: 'stopping' })).label).toBe('Stopping');
  });

  it('asks for fast polling only while something is on its way', () => {
    expect(needsFastPoll([cluster()])).toBe(false);
    expect(needsFastPoll([cluster(), cluster({ status: 'pending' })])).toBe(true);
    expect(needsFastPoll([cluster({ workers: 1 })])).toBe(true);
  });
});

describe('labels', () => {
  it('formats memory, presets, names and badges', () => {
    expect(formatMemory(4 * 2 ** 30)).toBe('4.0 GiB');
    expect(formatMemory(null)).toBe('–');
    expect(
      presetLabel({ workers: 2, worker_cores: 1, worker_memory: 3, adaptive: null })
    ).toBe('2 workers × 1 core, 3 GiB each');
    expect(
      presetLabel({
        workers: 4,
        worker_cores: 2,
        worker_memory: 3,
        adaptive: { minimum: 1, maximum: 4 }
      })
    ).toBe('1-4 workers × 2 cores, 3 GiB each');
    expect(shortName('dask-gateway.0123456789abcdef')).toBe('01234567');
    const nb = {
      path: 'a',
      title: 'A',
      main: true,
      local_path: 'a',
      present: true,
      modified: true
    };
    expect(notebookBadge(nb).kind).toBe('modified');
    expect(notebookBadge({ ...nb, modified: false }).kind).toBe('synced');
    expect(notebookBadge({ ...nb, present: false }).text).toBe('not in your home yet');
  });

  it('says what an open did', () => {
    expect(reportLines(report({ added: [] }))).toEqual([
      'Everything was already up to date.'
    ]);
    const lines = reportLines(
      report({
        added: ['course/dask/a.ipynb'],
        updated: ['course/dask/b.ipynb'],
        kept: ['course/dask/c.ipynb'],
        renamed: [{ from: 'course/dask/n.md', to: 'course/dask/n__1.md' }],
        backup: 'course/dask_backup_1'
      })
    );
    expect(lines).toEqual([
      'Your earlier folder was kept as course/dask_backup_1.',
      'Added: a.ipynb.',
      'Updated: b.ipynb.',
      'Kept your version of c.ipynb.',
      'Your n.md was renamed n__1.md.'
    ]);
  });
});

describe('buildCreateRequest', () => {
  const off = { enabled: false, minimum: '1', maximum: '4' };

  it('builds options within the gateway limits', () => {
    const { request, problems } = buildCreateRequest(
      fields,
      { session: 'custom', worker_cores: '2', worker_memory: '3.5' },
      '3',
      off
    );
    expect(problems).toEqual([]);
    expect(request).toEqual({
      options: { session: 'custom', worker_cores: 2, worker_memory: 3.5 },
      workers: 3
    });
  });

  it('reports every problem, in sentences', () => {
    const { request, problems } = buildCreateRequest(
      fields,
      { session: 'nope', worker_cores: '1.5', worker_memory: '64' },
      '-1',
      off
    );
    expect(request).toBeUndefined();
    expect(problems).toEqual([
      'Session preset: choose one of custom, dask.',
      'Worker cores must be a whole number.',
      'Worker memory (GiB) must be at most 8.',
      'Workers must be a whole number of at least 0.'
    ]);
  });

  it('handles adaptive bounds', () => {
    const ok = buildCreateRequest(fields, {}, '', {
      enabled: true,
      minimum: '0',
      maximum: '3'
    });
    expect(ok.request).toEqual({ options: {}, adaptive: { minimum: 0, maximum: 3 } });
    const bad = buildCreateRequest(fields, {}, '', {
      enabled: true,
      minimum: '5',
      maximum: '3'
    });
    expect(bad.problems).toEqual(['Minimum workers must not exceed maximum workers.']);
  });
});
