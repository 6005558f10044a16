"""The mesoscopic kernel: vehicles move through link queues in time steps (compiled with numba).

A link holds at most `storage` vehicles (length x lanes x jam density) in a FIFO ring (the
array called `storage` in the kernel is the ring size, `links[12]` the storage). A vehicle
may leave a link once its free-flow traversal time has passed, if the link's outflow capacity
allows (a credit of capacity x dt per step, never banked beyond one step's worth) and the next
link on its route has room; otherwise it waits and the link fills up, so queues spill back to
upstream links; vehicles heading to another exit pass a blocked head (one queue per exit, as
SUMO meso's multi-queue does). A head blocked longer than `stuck_s` squeezes into its next link,
up to SLACK places over its storage (MATSim's stuck rule, which keeps loops of full links from
locking forever), or, when even those are taken, to the next link of its route with room
(SUMO's "teleport"); both are counted. Vehicles waiting to enter the network queue at the first
link of their route. Nothing is stored per vehicle but a few numbers in arrays; no Python object
is touched in the loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Indices into the counters array returned with the measurements.
ARRIVED, TELEPORTED, ENTERED, FORCED = 0, 1, 2, 3
SLACK = 2  #: extra ring places per link: a vehicle stuck `stuck_s` may squeeze into a full link
SAMPLE_S = 5.0  #: queues and vehicle-seconds are sampled this often
LOOKAHEAD = 8  #: how far behind a blocked head a vehicle heading elsewhere may pass


@njit(cache=True)
def _push(v, link, ring, offset, head, count, storage):
    ring[offset[link] + (head[link] + count[link]) % storage[link]] = v
    count[link] += 1


@njit(cache=True)
def _pop(link, ring, offset, head, count, storage):
    v = ring[offset[link] + head[link]]
    head[link] = (head[link] + 1) % storage[link]
    count[link] -= 1
    return v


@njit(cache=True)
def _queued(link, ring, offset, head, count, storage, ready, now):
    """Vehicles on the link past their free-flow exit time (FIFO: they are at the front)."""
    n = 0
    for k in range(count[link]):
        v = ring[offset[link] + (head[link] + k) % storage[link]]
        if ready[v] > now:
            break
        n += 1
    return n


@njit(cache=True)
def _activate(a, links):
    """Put link `a` on the list of links the step visits (with a full outflow credit)."""
    active, is_active, n_active = links[9], links[10], links[11]
    if not is_active[a]:
        is_active[a] = True
        active[n_active[0]] = a
        n_active[0] += 1
        links[6][a] = max(1.0, links[7][a])


@njit(cache=True)
def _enter(v, b, now, links, veh, meas):
    """Vehicle `v` enters link `b` now."""
    ring, offset, head, count, storage, ff = links[:6]
    ready, entered = veh[2], veh[3]
    _activate(b, links)
    _push(v, b, ring, offset, head, count, storage)
    ready[v] = now + ff[b]
    entered[v] = now


@njit(cache=True)
def _leave(v, a, now, period, veh, ff, meas):
    """Record the traversal of link `a` by vehicle `v` ending now."""
    exits, tt_sum = meas[0], meas[1]
    exits[period, a] += 1.0
    tt_sum[period, a] += now - veh[3][v]


@njit(cache=True)
def _teleport(v, a, clock, routes, links, veh, meas, counters):
    """Move a stuck vehicle to the next link of its route with room (or out of the network)."""
    now, period = clock[0], clock[1]
    ring, offset, head, count, storage, ff = links[:6]
    start, length, pos = veh[0], veh[1], veh[4]
    _pop(a, ring, offset, head, count, storage)
    _leave(v, a, now, period, veh, ff, meas)
    counters[TELEPORTED] += 1
    skipped = 0.0
    for k in range(pos[v] + 1, length[v]):
        b = routes[start[v] + k]
        if count[b] < links[12][b]:
            pos[v] = k
            _enter(v, b, now + skipped, links, veh, meas)
            return
        skipped += ff[b]
    counters[ARRIVED] += 1


@njit(cache=True)
def _move_link(a, clock, routes, links, veh, meas, counters):
    """Let vehicles leave link `a` while time, capacity and room downstream allow; a head
    vehicle blocked by a full next link for more than `stuck_s` jumps ahead. `clock` is
    (now, period, stuck_s)."""
    now, period, stuck_s = clock
    ring, offset, head, count, storage, ff, credit = links[:7]
    blocked = links[8]
    start, length, ready, pos = veh[0], veh[1], veh[2], veh[4]
    while count[a] > 0 and credit[a] >= 1.0 - 1e-9:
        v = ring[offset[a] + head[a]]
        if ready[v] > now:
            return
        if pos[v] + 1 == length[v]:
            _pop(a, ring, offset, head, count, storage)
            _leave(v, a, now, period, veh, ff, meas)
            counters[ARRIVED] += 1
        else:
            b = routes[start[v] + pos[v] + 1]
            if count[b] >= links[12][b]:
                if blocked[a] < 0:
                    blocked[a] = now
                elif now - blocked[a] > stuck_s:
                    blocked[a] = -1.0
                    if count[b] < storage[b]:  # squeeze in (the ring has SLACK spare places)
                        counters[FORCED] += 1
                        _pop(a, ring, offset, head, count, storage)
                        _leave(v, a, now, period, veh, ff, meas)
                        pos[v] += 1
                        _enter(v, b, now, links, veh, meas)
                    else:
                        _teleport(v, a, clock, routes, links, veh, meas, counters)
                    continue
                if not _let_pass(a, b, now, routes, links, veh):
                    return
                continue  # a vehicle heading elsewhere is now at the front
            blocked[a] = -1.0
            _pop(a, ring, offset, head, count, storage)
            _leave(v, a, now, period, veh, ff, meas)
            pos[v] += 1
            _enter(v, b, now, links, veh, meas)
        credit[a] -= 1.0


@njit(cache=True)
def _let_pass(a, blocked_to, now, routes, links, veh):
    """One queue per exit (as SUMO meso's multi-queue): the first ready vehicle among the next
    LOOKAHEAD that heads elsewhere than the blocked head, to a link with room (or out), moves
    to the front. Returns whether one did."""
    ring, offset, head, count, storage = links[:5]
    start, length, ready, pos = veh[0], veh[1], veh[2], veh[4]
    for k in range(1, min(count[a], LOOKAHEAD)):
        slot = offset[a] + (head[a] + k) % storage[a]
        w = ring[slot]
        if ready[w] > now:
            return False
        if pos[w] + 1 == length[w]:
            c = -1
        else:
            c = routes[start[w] + pos[w] + 1]
        if c != blocked_to and (c < 0 or count[c] < links[12][c]):
            front = offset[a] + head[a]
            ring[slot], ring[front] = ring[front], w
            return True
    return False


@njit(cache=True)
def _admit(a, first, now, waiting, links, veh, meas, counters):
    """Vehicles waiting at the start of link `a` enter while it has room."""
    ring, offset, head, count, storage = links[:5]
    w_head, w_next = waiting[0], waiting[2]
    if first[a] > 0:
        while w_head[a] >= 0 and count[a] < links[12][a]:
            v = w_head[a]
            w_head[a] = w_next[v]
            if w_head[a] < 0:
                waiting[1][a] = -1
            first[a] -= 1
            _enter(v, a, now, links, veh, meas)
            counters[ENTERED] += 1


@njit(cache=True)
def _depart(v, routes, veh, waiting, first, links):
    """Vehicle `v` joins the queue at the first link of its route."""
    a = routes[veh[0][v]]
    _activate(a, links)
    w_head, w_tail, w_next = waiting
    w_next[v] = -1
    if w_tail[a] < 0:
        w_head[a] = v
    else:
        w_next[w_tail[a]] = v
    w_tail[a] = v
    first[a] += 1


@njit(cache=True)
def _sample(now, period, links, veh, meas, first, dt):
    """Queues and vehicle-seconds of this step (over the active links)."""
    ring, offset, head, count, storage = links[:5]
    queue_sum, on_links, delay, entry = meas[2], meas[3], meas[4], meas[5]
    active, n_active = links[9], links[11][0]
    waiting_total = 0
    for i in range(n_active):
        a = active[i]
        waiting_total += first[a]
        if count[a] > 0:
            q = _queued(a, ring, offset, head, count, storage, veh[2], now)
            queue_sum[period, a] += q * dt
            on_links[period] += count[a] * dt
            delay[period] += q * dt
    entry[period] += waiting_total * dt


@njit(cache=True)
def simulate(window, params, routes, links, veh, waiting, meas, state):
    """Advance the simulation through `window` = (from, to) seconds (vehicles departing in it
    must have routes); `params` = (dt, period seconds, stuck seconds, seed); `state` = (next
    vehicle to depart, first-link waiting counts, counters). Queues are sampled every SAMPLE_S
    seconds."""
    t_from, t_to = window
    dt, period_s, stuck_s, seed = params
    np.random.seed(seed + int(t_from))
    depart = veh[5]
    first, counters = state[1], state[2]
    n_periods = meas[0].shape[0]
    every = max(1, int(round(SAMPLE_S / dt)))
    step = int(round(t_from / dt))
    now = t_from
    while now < t_to - 1e-9:
        period = min(int(now // period_s), n_periods - 1)
        while state[0][0] < depart.size and depart[state[0][0]] <= now:
            v = state[0][0]
            if veh[1][v] == 0:
                counters[ARRIVED] += 1  # between zones on the same road node: no road to use
            else:
                _depart(v, routes, veh, waiting, first, links)
            state[0][0] += 1
        _step((now, period, stuck_s), routes, links, veh, waiting, meas, state)
        if step % every == 0:
            _sample(now, period, links, veh, meas, first, dt * every)
        _retire(links, first)
        step += 1
        now += dt
    return now


@njit(cache=True)
def _step(clock, routes, links, veh, waiting, meas, state):
    """One time step over the links that hold or await vehicles, from a random start so no
    link is always served first; links activated during the step wait for the next one."""
    now = clock[0]
    first, counters = state[1], state[2]
    credit, cap_step, count = links[6], links[7], links[3]
    active, n = links[9], links[11][0]
    if n == 0:
        return
    shift = np.random.randint(0, n)
    visit = np.empty(n, np.int64)
    for k in range(n):
        visit[k] = active[(k + shift) % n]
    for a in visit:
        if count[a] > 0:
            credit[a] = min(credit[a] + cap_step[a], max(1.0, cap_step[a]))
            _move_link(a, clock, routes, links, veh, meas, counters)
    for a in visit:
        _admit(a, first, now, waiting, links, veh, meas, counters)


@njit(cache=True)
def _retire(links, first):
    """Drop links that neither hold nor await a vehicle from the active list."""
    active, is_active, n_active, count = links[9], links[10], links[11], links[3]
    kept = 0
    for i in range(n_active[0]):
        a = active[i]
        if count[a] > 0 or first[a] > 0:
            active[kept] = a
            kept += 1
        else:
            is_active[a] = False
    n_active[0] = kept
