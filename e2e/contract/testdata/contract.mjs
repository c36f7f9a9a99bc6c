// Runs Backstage's own catalog client against a running Atrium and asserts
// that every call answers the way it would against Backstage.
//
// Input (environment):
//   ATRIUM_BASE_URL          the server, e.g. http://127.0.0.1:41234
//   CONTRACT_DESCRIPTOR_URL  a descriptor served over HTTP for addLocation
//   CONTRACT_DRYRUN_URL      another descriptor, only ever added with dryRun
//   CONTRACT_EXPECT          JSON with the counts the demo catalog must show
// Output: one JSON object on stdout; exit code 1 on the first failed check.
import assert from 'node:assert/strict';
import { CatalogClient } from '@backstage/catalog-client';
import { stringifyEntityRef } from '@backstage/catalog-model';

const baseUrl = process.env.ATRIUM_BASE_URL;
const descriptorUrl = process.env.CONTRACT_DESCRIPTOR_URL;
const dryRunUrl = process.env.CONTRACT_DRYRUN_URL;
const expect = JSON.parse(process.env.CONTRACT_EXPECT ?? '{}');
assert.ok(baseUrl && descriptorUrl && dryRunUrl, 'ATRIUM_BASE_URL, CONTRACT_DESCRIPTOR_URL and CONTRACT_DRYRUN_URL must be set');

const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => `${baseUrl}/api/catalog` },
  fetchApi: { fetch },
});

const checks = [];
async function check(name, fn) {
  try {
    const detail = await fn();
    checks.push({ name, ok: true, ...(detail === undefined ? {} : { detail }) });
  } catch (err) {
    checks.push({ name, ok: false, error: String(err?.stack ?? err) });
    console.log(JSON.stringify({ ok: false, failed: name, checks }, null, 2));
    process.exit(1);
  }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
async function eventually(what, fn, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

const TRACKING = 'component:default/tracking-service';
const hasRelation = (e, type, targetRef) =>
  (e.relations ?? []).some(r => r.type === type && r.targetRef === targetRef);

// A whole-run guard so that a hung server cannot hang the test.
setTimeout(() => {
  console.log(JSON.stringify({ ok: false, failed: 'timeout', checks }, null, 2));
  process.exit(2);
}, 240000).unref();

await check('getEntities: the demo catalog has no processing errors', async () => {
  const { items } = await client.getEntities({ fields: ['kind', 'metadata.name', 'status'] });
  const total = Object.values(expect.kinds).reduce((a, b) => a + b, 0);
  assert.ok(items.length >= total, `${items.length} entities, want at least ${total}`);
  const failing = items.filter(e => (e.status?.items ?? []).some(i => i.level === 'error'));
  assert.deepEqual(failing.map(e => [stringifyEntityRef(e), e.status.items]), []);
});

await check('getEntities with filter and fields', async () => {
  const { items } = await client.getEntities({
    filter: { kind: 'Component', 'spec.type': 'website' },
    fields: ['kind', 'metadata.name', 'spec.type'],
  });
  assert.equal(items.length, expect.websites, 'number of websites');
  for (const e of items) {
    assert.equal(e.kind, 'Component');
    assert.equal(e.spec.type, 'website');
    assert.deepEqual(Object.keys(e).sort(), ['kind', 'metadata', 'spec']);
    assert.deepEqual(Object.keys(e.metadata), ['name']);
    assert.deepEqual(Object.keys(e.spec), ['type']);
  }
  return { websites: items.length };
});

await check('getEntities with OR-ed filters, case-insensitive', async () => {
  const { items } = await client.getEntities({
    filter: [{ kind: 'domain' }, { kind: 'SYSTEM' }],
    fields: ['kind', 'metadata.name'],
  });
  assert.equal(items.length, expect.domains + expect.systems);
  assert.ok(items.every(e => e.kind === 'Domain' || e.kind === 'System'));
});

await check('getEntities with relation filter, order and limit', async () => {
  const { items } = await client.getEntities({
    filter: { kind: 'Component', 'relations.ownedBy': 'group:default/tracking-team' },
    fields: ['metadata.name', 'spec.owner'],
    order: { field: 'metadata.name', order: 'desc' },
    limit: 3,
  });
  assert.equal(items.length, 3);
  const names = items.map(e => e.metadata.name);
  assert.deepEqual(names, [...names].sort().reverse(), 'descending by name');
  assert.ok(items.every(e => e.spec.owner === 'tracking-team'));
});

let tracking;
await check('getEntityByRef', async () => {
  tracking = await client.getEntityByRef(TRACKING);
  assert.ok(tracking, `${TRACKING} exists`);
  assert.equal(stringifyEntityRef(tracking), TRACKING);
  assert.equal(tracking.apiVersion, 'backstage.io/v1alpha1');
  assert.equal(tracking.metadata.namespace, 'default');
  assert.match(tracking.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.ok(tracking.metadata.etag, 'etag set');
  assert.match(tracking.metadata.annotations['backstage.io/managed-by-location'], /^file:.*catalog-info\.yaml$/);
  assert.ok(tracking.metadata.annotations['backstage.io/managed-by-origin-location'], 'origin location set');
  for (const [type, target] of [
    ['ownedBy', 'group:default/tracking-team'],
    ['partOf', 'system:default/shipment-tracking'],
    ['providesApi', 'api:default/tracking-api'],
    ['consumesApi', 'api:default/eta-api'],
    ['dependsOn', 'resource:default/tracking-db'],
    ['dependencyOf', 'component:default/tracking-event-processor'],
  ]) {
    assert.ok(hasRelation(tracking, type, target), `relation ${type} ${target} in ${JSON.stringify(tracking.relations)}`);
  }
  assert.ok(Array.isArray(tracking.status?.items ?? []));

  const byCompound = await client.getEntityByRef({ kind: 'Component', namespace: 'default', name: 'Tracking-Service' });
  assert.equal(byCompound?.metadata.uid, tracking.metadata.uid, 'lookup is case-insensitive');
  assert.equal(await client.getEntityByRef('component:default/no-such-thing'), undefined);

  const api = await client.getEntityByRef('api:default/tracking-api');
  assert.match(api.spec.definition, /^openapi: 3\./, '$text placeholder resolved');
  assert.ok(hasRelation(api, 'apiProvidedBy', TRACKING));
});

await check('getEntitiesByRefs', async () => {
  const { items } = await client.getEntitiesByRefs({
    entityRefs: [TRACKING, 'component:default/no-such-thing', 'API:default/Tracking-API', 'user:default/amara.okafor'],
    fields: ['kind', 'metadata.name'],
  });
  assert.equal(items.length, 4);
  assert.deepEqual(items[0], { kind: 'Component', metadata: { name: 'tracking-service' } });
  assert.equal(items[1], undefined);
  assert.equal(items[2]?.metadata.name, 'tracking-api');
  assert.equal(items[3]?.kind, 'User');
});

await check('queryEntities with a filter, following nextCursor and prevCursor', async () => {
  const first = await client.queryEntities({
    filter: { kind: 'User' },
    limit: 6,
    orderFields: { field: 'metadata.name', order: 'asc' },
    fields: ['metadata.name'],
  });
  assert.equal(first.totalItems, expect.users);
  assert.equal(first.items.length, 6);
  assert.ok(first.pageInfo.nextCursor, 'nextCursor on the first page');
  assert.equal(first.pageInfo.prevCursor, undefined, 'no prevCursor on the first page');
  const names = first.items.map(e => e.metadata.name);
  let page = first;
  const pages = [first];
  while (page.pageInfo.nextCursor) {
    page = await client.queryEntities({ cursor: page.pageInfo.nextCursor, limit: 6 });
    assert.equal(page.totalItems, expect.users, 'totalItems carried in the cursor');
    names.push(...page.items.map(e => e.metadata.name));
    pages.push(page);
    assert.ok(pages.length <= expect.users, 'paging ends');
  }
  assert.equal(names.length, expect.users);
  assert.equal(new Set(names).size, names.length, 'no duplicates across pages');
  assert.deepEqual(names, [...names].sort(), 'ascending across pages');

  const second = pages[1];
  assert.ok(second.pageInfo.prevCursor, 'prevCursor on the second page');
  const back = await client.queryEntities({ cursor: second.pageInfo.prevCursor, limit: 6 });
  assert.deepEqual(back.items.map(e => e.metadata.name), first.items.map(e => e.metadata.name), 'prevCursor returns the first page');
  return { pages: pages.length };
});

await check('queryEntities with a cursor and a different limit', async () => {
  const first = await client.queryEntities({ filter: { kind: 'Component' }, limit: 10 });
  assert.equal(first.totalItems, expect.components);
  const next = await client.queryEntities({ cursor: first.pageInfo.nextCursor, limit: 4 });
  assert.equal(next.items.length, 4);
  assert.ok(next.items.every(e => e.kind === 'Component'), 'filter carried in the cursor');
  const seen = new Set(first.items.map(e => e.metadata.uid));
  assert.ok(next.items.every(e => !seen.has(e.metadata.uid)), 'next page does not repeat');
});

await check('queryEntities with full-text filter', async () => {
  const res = await client.queryEntities({
    filter: { kind: 'Component' },
    fullTextFilter: { term: 'TRACKING', fields: ['metadata.name'] },
    limit: 100,
  });
  assert.ok(res.items.length >= 4);
  assert.equal(res.totalItems, res.items.length);
  assert.ok(res.items.every(e => e.metadata.name.includes('tracking')));
});

await check('queryEntities with a query predicate, following its cursor', async () => {
  const query = { $all: [{ kind: 'component' }, { 'spec.type': { $in: ['website', 'library'] } }, { $not: { 'spec.lifecycle': 'deprecated' } }] };
  const first = await client.queryEntities({ query, limit: 3, fields: ['metadata.name', 'spec.type', 'spec.lifecycle'] });
  assert.equal(first.items.length, 3);
  const all = [...first.items];
  let page = first;
  while (page.pageInfo.nextCursor) {
    page = await client.queryEntities({ cursor: page.pageInfo.nextCursor, limit: 3 });
    all.push(...page.items);
    assert.ok(all.length <= expect.components, 'paging ends');
  }
  assert.equal(all.length, expect.websitesAndLibrariesNotDeprecated);
  if (first.totalItems !== undefined) assert.equal(first.totalItems, all.length);
  assert.ok(all.every(e => ['website', 'library'].includes(e.spec.type) && e.spec.lifecycle !== 'deprecated'));
});

await check('getEntityFacets', async () => {
  const { facets } = await client.getEntityFacets({ facets: ['kind', 'spec.type', 'metadata.tags'], filter: { kind: 'Component' } });
  assert.deepEqual(facets.kind, [{ value: 'Component', count: expect.components }]);
  const types = Object.fromEntries(facets['spec.type'].map(f => [f.value, f.count]));
  assert.equal(types.website, expect.websites);
  assert.equal(Object.values(types).reduce((a, b) => a + b, 0), expect.components);
  assert.ok(facets['metadata.tags'].some(f => f.value === 'go' && f.count > 5), 'tag facet');

  const all = await client.getEntityFacets({ facets: ['kind'] });
  const kinds = Object.fromEntries(all.facets.kind.map(f => [f.value, f.count]));
  assert.equal(kinds.User, expect.users);
  assert.equal(kinds.API, expect.apis);
});

await check('getEntityAncestors', async () => {
  const res = await client.getEntityAncestors({ entityRef: TRACKING });
  assert.equal(res.rootEntityRef, TRACKING);
  const self = res.items.find(i => stringifyEntityRef(i.entity) === TRACKING);
  assert.ok(self, 'the entity itself is among the items');
  assert.ok(self.parentEntityRefs.includes('location:default/northwind-demo'), `parents ${self.parentEntityRefs}`);
  assert.ok(res.items.some(i => stringifyEntityRef(i.entity) === 'location:default/northwind-demo'), 'the demo Location is an ancestor');
});

let added;
await check('addLocation (dry run)', async () => {
  const res = await client.addLocation({ type: 'url', target: dryRunUrl, dryRun: true });
  assert.equal(res.location.type, 'url');
  assert.equal(res.location.target, dryRunUrl);
  assert.equal(res.exists, false);
  const names = res.entities.map(e => stringifyEntityRef(e));
  assert.ok(names.includes('component:default/contract-dry-run'), `dry-run entities ${names}`);
  const { items } = await client.getLocations();
  assert.ok(!items.some(l => l.target === dryRunUrl), 'dry run stored nothing');
  assert.equal(await client.getEntityByRef('component:default/contract-dry-run'), undefined);
});

await check('addLocation', async () => {
  added = await client.addLocation({ type: 'url', target: descriptorUrl });
  assert.match(added.location.id, /^[0-9a-f-]{36}$/);
  assert.equal(added.location.type, 'url');
  assert.equal(added.location.target, descriptorUrl);
  await assert.rejects(client.addLocation({ type: 'url', target: descriptorUrl }), err => err.name === 'ConflictError' || err?.response?.status === 409);
});

await check('getLocations', async () => {
  const { items } = await client.getLocations();
  const mine = items.find(l => l.id === added.location.id);
  assert.deepEqual({ type: mine?.type, target: mine?.target }, { type: 'url', target: descriptorUrl });
  const byRef = await client.getLocationByRef(`url:${descriptorUrl}`);
  assert.equal(byRef?.id, added.location.id);
});

let probe;
await check('registered entity is ingested', async () => {
  probe = await eventually('component:default/contract-probe', async () => {
    const e = await client.getEntityByRef('component:default/contract-probe');
    return e && hasRelation(e, 'ownedBy', 'group:default/tracking-team') ? e : undefined;
  });
  assert.equal(probe.metadata.annotations['backstage.io/managed-by-location'], `url:${descriptorUrl}`);
  assert.equal(probe.metadata.annotations['backstage.io/managed-by-origin-location'], `url:${descriptorUrl}`);
  const team = await eventually('group:default/tracking-team ownerOf contract-probe', async () => {
    const g = await client.getEntityByRef('group:default/tracking-team');
    return hasRelation(g, 'ownerOf', 'component:default/contract-probe') ? g : undefined;
  });
  assert.ok(team);
});

await check('getLocationByEntity', async () => {
  const loc = await client.getLocationByEntity('component:default/contract-probe');
  assert.equal(loc?.id, added.location.id);
  assert.equal(loc?.target, descriptorUrl);
  assert.equal(await client.getLocationByEntity('component:default/no-such-thing'), undefined);
});

await check('removeEntityByUid', async () => {
  await client.removeEntityByUid(probe.metadata.uid);
  // Backstage deletes at once; a still-emitted entity comes back on its
  // parent's next processing, with a new uid.
  const after = await client.getEntityByRef('component:default/contract-probe');
  assert.ok(after === undefined || after.metadata.uid !== probe.metadata.uid, 'the entity with that uid is gone');
  await client.removeEntityByUid('00000000-0000-4000-8000-000000000000');
});

await check('validateEntity', async () => {
  const good = {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'validated-thing', tags: ['go'] },
    spec: { type: 'service', lifecycle: 'production', owner: 'tracking-team' },
  };
  assert.deepEqual(await client.validateEntity(good, 'url:http://127.0.0.1/catalog-info.yaml'), { valid: true });

  const bad = { ...good, metadata: { name: '-not valid-', tags: ['Not_A_Tag'] }, spec: { type: 'service', lifecycle: 'production' } };
  const res = await client.validateEntity(bad, 'url:http://127.0.0.1/catalog-info.yaml');
  assert.equal(res.valid, false);
  assert.ok(res.errors.length >= 1);
  for (const e of res.errors) {
    assert.equal(typeof e.name, 'string');
    assert.equal(typeof e.message, 'string');
  }
  const text = res.errors.map(e => e.message).join('\n');
  assert.match(text, /metadata\.name|-not valid-/, text);
  return { errors: res.errors.length };
});

console.log(JSON.stringify({ ok: true, checks }, null, 2));
