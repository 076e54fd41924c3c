// The projections room's door: rxjs pipelines: cloud reconcilers and edge read models. Nothing is exported yet; later issues fill it.
export {};
