import React, { useState } from 'react';

import { presetLabel } from '../format';
import { CourseModel, DEFAULT_WORKERS } from '../state';
import { IPanelActions } from './actions';
import { ClusterCard } from './ClusterCard';
import { ClusterForm } from './ClusterForm';

export function Clusters(props: {
  model: CourseModel;
  actions: IPanelActions;
}): JSX.Element {
  const { model, actions } = props;
  const [showForm, setShowForm] = useState(false);
  const preset = model.presetSession();
  const newLabel = preset
    ? `New cluster (${preset.title}: ${presetLabel(preset.cluster!)})`
    : `New cluster (${DEFAULT_WORKERS} workers, default size)`;
  const active = (model.clusters ?? []).filter(
    c => c.status === 'pending' || c.status === 'running' || c.status === 'stopping'
  );

  const toggleForm = async () => {
    if (!showForm) {
      await model.loadOptions();
    }
    setShowForm(!showForm);
  };

  return (
    <section className="jp-Course-clusters" aria-label="Dask clusters">
      <h3>Dask clusters</h3>
      <div className="jp-Course-row">
        <button
          className="jp-mod-styled jp-mod-accept jp-Course-new"
          onClick={() => void model.createCluster()}
          disabled={model.creating}
          title={newLabel}
        >
          {model.creating ? 'Starting a cluster…' : 'New cluster'}
        </button>
        <button
          className="jp-mod-styled"
          onClick={() => void toggleForm()}
          aria-expanded={showForm}
        >
          Options…
        </button>
      </div>
      <div className="jp-Course-hint">{newLabel}</div>
      {showForm && model.optionFields && (
        <ClusterForm
          model={model}
          fields={model.optionFields}
          preset={preset}
          onDone={() => setShowForm(false)}
        />
      )}
      {model.createError && (
        <div
          className={
            model.createError.reason === 'capped'
              ? 'jp-Course-warning'
              : 'jp-Course-error'
          }
          role="alert"
        >
          {model.createError.message}
        </div>
      )}
      {model.clustersError && (
        <div className="jp-Course-error" role="alert">
          {model.clustersError.message}
        </div>
      )}
      {model.clusters === null && !model.clustersError && (
        <div className="jp-Course-loading">Looking for your clusters…</div>
      )}
      {model.clusters !== null && active.length === 0 && !model.creating && (
        <div className="jp-Course-empty">
          No cluster yet. Start one with New cluster; clusters you make in a notebook
          show up here too.
        </div>
      )}
      <ul className="jp-Course-clusterList">
        {active.map(c => (
          <ClusterCard key={c.name} cluster={c} model={model} actions={actions} />
        ))}
      </ul>
    </section>
  );
}
