"""How a job's money moved, read from the documented events of `block_results` (docs/rpc.md, "Result codes and
events" and "How a job's money moves") only. No third-party packages: `job_money` needs an object with
`call(method, params)` (assay_client.Node), `money_flow` only the JSON answers."""


def attributes(event):
    return {attribute["key"]: attribute["value"] for attribute in event["attributes"]}


def job_events(job_id, answers):
    """(height, where, type, attributes) of every event about the job in `block_results` answers, in chain order:
    those naming it (`job` attribute) and the provider's `slashed` that the ledger emits just before the job's
    `job_ended`. `where` is the transaction hash, or "end_block" for the block's end-of-block work."""
    for answer in answers:
        lists = [(tx["hash"], tx["events"]) for tx in answer["transactions"]]
        lists.append(("end_block", answer["end_block_events"]))
        for where, events in lists:
            for index, event in enumerate(events):
                named = attributes(event)
                following = events[index + 1] if index + 1 < len(events) else None
                slash_of_this_job = event["type"] == "slashed" and following is not None \
                    and following["type"] == "job_ended" and attributes(following).get("job") == job_id
                if named.get("job") == job_id or slash_of_this_job:
                    yield answer["height"], where, event["type"], named


def money_flow(job_id, answers):
    """What the job's events say about its money: the escrow the client locked, and once the job ended what was
    paid to the provider, refunded to the client and burned (the take rate), whose sum is the escrow; stake slashed
    from the provider, and challenge bonds the provider won. Amounts are ints (the events carry decimal strings)."""
    flow = {"job": job_id, "escrow": None, "client": None, "provider": None, "outcome": None, "reason": None,
            "paid": 0, "refund": 0, "burned": 0, "slashed": 0, "to_challenger": 0, "bonds_won": 0, "events": []}
    for height, where, kind, named in job_events(job_id, answers):
        flow["events"].append({"height": height, "where": where, "type": kind})
        if kind == "job_created":
            flow.update(escrow=int(named["escrow"]), client=named["client"], provider=named["provider"],
                        created_height=height)
        elif kind == "challenge_failed":
            flow["bonds_won"] += int(named["bond_forfeited"])
        elif kind == "slashed":
            flow["slashed"] += int(named["amount"])
            flow["to_challenger"] += int(named["to_challenger"])
        elif kind == "job_ended":
            flow.update(outcome=named["outcome"], reason=named["reason"], paid=int(named["paid"]),
                        refund=int(named["refund"]), burned=int(named["burned"]), ended_height=height)
    if flow["escrow"] is None:
        raise ValueError(f"no job_created event of job {job_id} in the blocks read")
    if flow["outcome"] is not None and flow["paid"] + flow["refund"] + flow["burned"] != flow["escrow"]:
        raise ValueError(f"job {job_id}: paid + refund + burned differs from the escrow {flow['escrow']}")
    return flow


def job_money(node, job_id):
    """Reads `block_results` from the job's creation height until its `job_ended` (or the latest height), and checks
    the result against the `settlement` of the job's view (what its state record says the ending moved)."""
    view = node.call("job", {"id": job_id})
    latest = node.call("status")["latest_height"]
    answers = []
    for height in range(view["created_height"], latest + 1):
        answers.append(node.call("block_results", {"height": height}))
        if any(kind == "job_ended" for _, _, kind, _ in job_events(job_id, answers[-1:])):
            break
    flow = money_flow(job_id, answers)
    check_settlement(flow, view.get("settlement"))
    return flow


def check_settlement(flow, settlement):
    """The job view's settlement (null until the job ended) must say what the events say."""
    if settlement is None:
        return
    stated = {key: int(settlement[key]) for key in ("paid", "refund", "burned", "slashed")}
    if stated != {key: flow[key] for key in stated} or settlement["height"] != flow.get("ended_height"):
        raise ValueError(f"job {flow['job']}: its settlement {settlement} differs from its events {flow}")
