import React, { useState } from 'react';

import { clusterProgress, formatMemory, shortName } from '../format';
import { ICluster } from '../model';
import { CourseModel } from '../state';
import { IPanelActions } from './actions';

export function ClusterCard(props: {
  cluster: ICluster;
  model: CourseModel;
  actions: IPanelActions;
}): JSX.Element {
  const { cluster, model, actions } = props;
  const progress = clusterProgress(cluster);
  const busy = model.busy.has(cluster.name);
  const running = cluster.status === 'running';
  // Inputs follow the cluster until the student types in them.
  const [workers, setWorkers] = useState<string | null>(null);
  const [minimum, setMinimum] = useState<string | null>(null);
  const [maximum, setMaximum] = useState<string | null>(null);
  const workersValue =
    workers ?? String(cluster.workers_requested ?? cluster.workers ?? 1);
  const minimumValue = minimum ?? String(cluster.adaptive?.minimum ?? 0);
  const maximumValue = maximum ?? String(cluster.adaptive?.maximum ?? 4);
  const error = model.actionError?.cluster === cluster.name ? model.actionError : null;
  const label = shortName(cluster.name);

  const stop = async () => {
    if (await actions.confirmStop(cluster.name)) {
      await model.stop(cluster.name);
    }
  };

  return (
    <li
      className={`jp-Course-cluster jp-mod-${cluster.status}`}
      data-cluster={cluster.name}
      aria-label={`Cluster ${label}`}
    >
      <div className="jp-Course-clusterHead">
        <span className="jp-Course-clusterName" title={cluster.name}>
          {label}
        </span>
        {cluster.session && <span className="jp-Course-tag">{cluster.session}</span>}
      </div>
      <div className="jp-Course-clusterStatus" role="status">
        {progress.starting && <span className="jp-Course-spinner" aria-hidden="true" />}
        {progress.label}
      </div>
      {running && (
        <div className="jp-Course-clusterStats">
          {cluster.cores ?? '–'} cores · {formatMemory(cluster.memory)}
        </div>
      )}
      {running && (
        <div className="jp-Course-clusterActions">
          <button
            className="jp-mod-styled"
            onClick={() => void actions.insertCode(cluster.connection_code)}
            title="Insert the code that connects a notebook to this cluster"
          >
            Insert code
          </button>
          {cluster.dashboard_link && (
            <button
              className="jp-mod-styled"
              onClick={() =>
                actions.openDashboard(cluster.dashboard_link as string, `Dask ${label}`)
              }
            >
              Dashboard
            </button>
          )}
        </div>
      )}
      {running && (
        <form
          className="jp-Course-scale"
          onSubmit={e => {
            e.preventDefault();
            const n = Number(workersValue);
            if (Number.isInteger(n) && n >= 0) {
              setWorkers(null);
              void model.scale(cluster.name, n);
            }
          }}
        >
          <label>
            Workers
            <input
              type="number"
              min={0}
              value={workersValue}
              onChange={e => setWorkers(e.target.value)}
              aria-label={`Workers for cluster ${label}`}
            />
          </label>
          <button className="jp-mod-styled" type="submit" disabled={busy}>
            Scale
          </button>
        </form>
      )}
      {running && (
        <form
          className="jp-Course-scale"
          onSubmit={e => {
            e.preventDefault();
            const lo = Number(minimumValue);
            const hi = Number(maximumValue);
            if (
              Number.isInteger(lo) &&
              Number.isInteger(hi) &&
              lo >= 0 &&
              hi >= Math.max(1, lo)
            ) {
              setMinimum(null);
              setMaximum(null);
              void model.adapt(cluster.name, lo, hi);
            }
          }}
        >
          <label>
            Adaptive
            <input
              type="number"
              min={0}
              value={minimumValue}
              onChange={e => setMinimum(e.target.value)}
              aria-label={`Minimum workers for cluster ${label}`}
            />
          </label>
          <label>
            to
            <input
              type="number"
              min={1}
              value={maximumValue}
              onChange={e => setMaximum(e.target.value)}
              aria-label={`Maximum workers for cluster ${label}`}
            />
          </label>
          <button className="jp-mod-styled" type="submit" disabled={busy}>
            Adapt
          </button>
        </form>
      )}
      {error && (
        <div className="jp-Course-error" role="alert">
          {error.message}
        </div>
      )}
      <button
        className="jp-mod-styled jp-mod-warn jp-Course-stop"
        onClick={() => void stop()}
        disabled={busy || cluster.status === 'stopping'}
        aria-label={`Stop cluster ${label}`}
      >
        {busy ? 'Working…' : 'Stop'}
      </button>
    </li>
  );
}
