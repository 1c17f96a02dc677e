import { useState } from 'preact/hooks';
import { type Group, type Partner, type Talk, call } from '../api';
import { Link, navigate } from '../router';
import { foldSeries } from '../recurrence';
import { orgPath } from '../session';
import { useForm } from '../form';
import { ConfirmButton, Empty, Field, FormAlert, Loading, SelectField, useLoad } from '../ui';

/** The rank that puts a group between its new neighbours (ranks are numbers, so a midpoint always exists). */
export function rankBetween(before: number | undefined, after: number | undefined): number {
  if (before === undefined && after === undefined) return 0;
  if (before === undefined) return (after as number) - 1;
  if (after === undefined) return before + 1;
  return (before + after) / 2;
}

export function GroupsPage({ partner }: { partner: Partner }) {
  const groups = useLoad(
    () => call<{ groups: Group[] }>('GET', '/api/v1/partners/groups', undefined, { partner: partner.id, query: { limit: 200 } }),
    [partner.id],
  );
  const [name, setName] = useState('');
  const form = useForm();
  const error = form.error;
  const [dragging, setDragging] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const list = groups.data?.groups ?? [];

  async function move(id: string, to: number) {
    const rest = list.filter((g) => g.id !== id);
    const rank = rankBetween(rest[to - 1]?.rank, rest[to]?.rank);
    await form.run(async () => {
      await call('PATCH', `/api/v1/partners/groups/${id}`, { rank }, { partner: partner.id });
      setStatus(`Moved ${list.find((g) => g.id === id)?.name} to position ${to + 1}.`);
      groups.reload();
    });
  }

  return (
    <>
      <h1>Groups</h1>
      <form
        class="card inline-form"
        onSubmit={form.submit(async () => {
          await call('POST', '/api/v1/partners/groups', { name }, { partner: partner.id });
          setName('');
          groups.reload();
        })}
      >
        <Field label="New group name" name="name" value={name} onValue={setName} error={error} required />
        <button type="submit">Create group</button>
        <FormAlert error={error} fields={['name']} />
      </form>
      <p class="visually-hidden" aria-live="polite">
        {status}
      </p>
      {!groups.data ? (
        <Loading error={groups.error} />
      ) : list.length === 0 ? (
        <Empty title="No groups yet">
          <p>Groups gather talks (a series, a track, a season) in the order you choose. Create one above, then add talks to it.</p>
        </Empty>
      ) : (
        <>
          <p class="muted">Drag a group to reorder, or use its arrow buttons.</p>
          <ol class="sortable" aria-label="Groups in order">
            {list.map((g, i) => (
              <li
                key={g.id}
                data-group={g.name}
                class={`card sortable-item${dragging === g.id ? ' dragging' : ''}`}
                draggable
                onDragStart={(e) => {
                  setDragging(g.id);
                  e.dataTransfer?.setData('text/plain', g.id);
                }}
                onDragEnd={() => setDragging(null)}
                onDragOver={(e) => e.preventDefault()}
                onDrop={(e) => {
                  e.preventDefault();
                  const id = e.dataTransfer?.getData('text/plain') || dragging;
                  setDragging(null);
                  if (id && id !== g.id) move(id, i);
                }}
              >
                <span class="handle" aria-hidden="true">
                  ⋮⋮
                </span>
                <Link href={orgPath(partner.id, `groups/${g.id}`)}>{g.name}</Link>
                {!g.visible && <span class="badge">hidden</span>}
                <span class="spacer" />
                <label class="inline">
                  <input
                    type="checkbox"
                    checked={g.visible}
                    onChange={async (e) => {
                      await call('PATCH', `/api/v1/partners/groups/${g.id}`, { visible: (e.target as HTMLInputElement).checked }, { partner: partner.id });
                      groups.reload();
                    }}
                  />{' '}
                  Visible
                </label>
                <button type="button" class="secondary" aria-label={`Move ${g.name} up`} disabled={i === 0} onClick={() => move(g.id, i - 1)}>
                  ↑
                </button>
                <button type="button" class="secondary" aria-label={`Move ${g.name} down`} disabled={i === list.length - 1} onClick={() => move(g.id, i + 1)}>
                  ↓
                </button>
              </li>
            ))}
          </ol>
        </>
      )}
    </>
  );
}

export function GroupDetail({ partner, id }: { partner: Partner; id: string }) {
  const data = useLoad(
    () => call<{ group: Group; talks: Talk[] }>('GET', '/api/v1/partners/group_talks', undefined, { partner: partner.id, query: { group_id: id } }),
    [partner.id, id],
  );
  const all = useLoad(() => call<{ talks: Talk[] }>('GET', '/api/v1/partners/talks', undefined, { partner: partner.id, query: { limit: 200 } }), [partner.id]);
  if (!data.data) return <Loading error={data.error} />;
  return (
    <GroupEditor key={data.data.group.id} partner={partner} group={data.data.group} talks={data.data.talks} all={all.data?.talks ?? []} reload={data.reload} />
  );
}

function GroupEditor(props: { partner: Partner; group: Group; talks: Talk[]; all: Talk[]; reload: () => void }) {
  const { partner, group, talks } = props;
  const [name, setName] = useState(group.name);
  const [description, setDescription] = useState(group.description ?? '');
  const [visible, setVisible] = useState(group.visible);
  const [add, setAdd] = useState('');
  const form = useForm();
  const error = form.error;
  const [saved, setSaved] = useState('');
  const candidates = props.all.filter((t) => !talks.some((x) => x.id === t.id));
  // A recurring series is one choice: adding it adds all its occurrences.
  const choices = foldSeries(candidates);
  const p = { partner: partner.id };
  return (
    <>
      <h1>{group.name}</h1>
      <form
        class="card form"
        onSubmit={form.submit(async () => {
          await call('PATCH', `/api/v1/partners/groups/${group.id}`, { name, description: description || null, visible }, p);
          setSaved('Saved.');
          props.reload();
        })}
      >
        <Field label="Name" name="name" value={name} onValue={setName} error={error} required />
        <Field label="Description" name="description" value={description} onValue={setDescription} error={error} />
        <label class="inline">
          <input type="checkbox" checked={visible} onChange={(e) => setVisible((e.target as HTMLInputElement).checked)} /> Visible to users
        </label>
        <FormAlert error={error} fields={['name', 'description']} />
        <div class="row">
          <button type="submit">Save group</button>
          <span role="status">{saved}</span>
        </div>
      </form>
      <section class="card" aria-labelledby="group-talks">
        <h2 id="group-talks">Talks in this group</h2>
        {talks.length === 0 ? (
          <p class="muted">No talks in this group yet: add one below.</p>
        ) : (
          <ul class="plain">
            {foldSeries(talks).map(({ talk: t, rest }) => (
              <li key={t.id} data-group-talk={t.name} class="row">
                <Link href={orgPath(partner.id, `talks/${t.id}`)}>{t.name}</Link>
                {rest.length > 0 && <span class="muted">and {rest.length} more in this series</span>}
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Remove ${t.name} from the group`}
                  onClick={async () => {
                    await call('DELETE', '/api/v1/partners/group_talks', { group_id: group.id, talk_ids: [t.id, ...rest.map((r) => r.id)] }, p);
                    props.reload();
                  }}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        {candidates.length > 0 ? (
          <form
            class="inline-form"
            onSubmit={async (e) => {
              e.preventDefault();
              const chosen = add || choices[0]?.talk.id;
              const series = choices.find((c) => c.talk.id === chosen);
              if (!series) return;
              const ids = [series.talk.id, ...series.rest.map((r) => r.id)];
              await call('PUT', '/api/v1/partners/group_talks', { group_id: group.id, talk_ids: [...talks.map((t) => t.id), ...ids] }, p);
              setAdd('');
              props.reload();
            }}
          >
            <SelectField
              label="Add a talk"
              name="talk_id"
              value={add || choices[0]?.talk.id}
              onValue={setAdd}
              options={choices.map(({ talk: t, rest }) => [t.id, rest.length ? `${t.name} (a series of ${rest.length + 1} talks)` : t.name])}
            />
            <button type="submit">Add to group</button>
          </form>
        ) : (
          <p class="muted">
            Every talk is already in this group. <Link href={orgPath(partner.id, 'talks/new')}>Create a talk</Link>.
          </p>
        )}
      </section>
      <ConfirmButton
        label="Delete group"
        what={group.name}
        confirm="The talks stay; only the group goes."
        onConfirm={async () => {
          await call('DELETE', `/api/v1/partners/groups/${group.id}`, undefined, p);
          navigate(orgPath(partner.id, 'groups'));
        }}
      />
    </>
  );
}
