import { ISignal } from '@lumino/signaling';
import { useEffect, useReducer } from 'react';

/** Re-render whenever the model (the panel's or the live quiz's) says it changed. */
export function useModel(model: { changed: ISignal<any, void> }): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const slot = () => bump();
    model.changed.connect(slot);
    return () => {
      model.changed.disconnect(slot);
    };
  }, [model]);
}
