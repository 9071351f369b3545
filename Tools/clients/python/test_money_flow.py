"""Tests of money_flow.py on block_results answers shaped as docs/rpc.md documents them.
Run: python3 Tools/clients/python/test_money_flow.py"""
import unittest

from money_flow import job_money, money_flow

JOB, OTHER = "8a3c" + "0" * 60, "77c4" + "0" * 60


def event(kind, **values):
    return {"type": kind, "attributes": [{"key": key, "value": str(value)} for key, value in values.items()]}


def block(height, transactions=(), end_block=()):
    return {"height": height, "hash": f"{height:064x}", "end_block_events": list(end_block),
            "transactions": [{"hash": f"{height:02x}{i:062x}", "code": 0, "code_name": "ok", "log": "", "events": list(e)}
                             for i, e in enumerate(transactions)]}


created = block(7, [[event("job_created", job=JOB, client="assay1client", provider="assay1provider", escrow=96)],
                    [event("job_created", job=OTHER, client="assay1client", provider="assay1provider", escrow=10)]])
posted = block(9, [[event("result_posted", job=JOB, output_hash="9f", trace_blob="3b", trace_length=16,
                          trace_root="c1", work_units=24, window_end=17)]])
settled = block(17, end_block=[event("job_ended", job=JOB, outcome="settled", reason="windowPassed", reason_code=1,
                                     paid=48, refund=48, burned=0)])


class MoneyFlowTests(unittest.TestCase):
    def test_a_settled_job_pays_the_provider_and_refunds_the_rest(self):
        flow = money_flow(JOB, [created, posted, settled])
        self.assertEqual((flow["escrow"], flow["paid"], flow["refund"], flow["burned"]), (96, 48, 48, 0))
        self.assertEqual((flow["outcome"], flow["created_height"], flow["ended_height"]), ("settled", 7, 17))
        self.assertEqual([e["type"] for e in flow["events"]], ["job_created", "result_posted", "job_ended"])
        self.assertEqual(flow["events"][-1]["where"], "end_block")

    def test_an_upheld_challenge_slashes_the_provider_and_refunds_the_client(self):
        challenge = block(12, [[event("challenge_upheld", job=JOB, challenger="assay1v", layer=0, tile=1, work_units=4),
                                event("slashed", account="assay1provider", amount=500, to_challenger=250, burned=250),
                                event("job_ended", job=JOB, outcome="slashed", reason="wrongOutput", reason_code=3,
                                      paid=0, refund=96, burned=0)]])
        flow = money_flow(JOB, [created, posted, challenge])
        self.assertEqual((flow["outcome"], flow["refund"], flow["slashed"], flow["to_challenger"]), ("slashed", 96, 500, 250))

    def test_another_jobs_slash_and_events_are_left_out(self):
        refund = block(20, end_block=[event("slashed", account="assay1provider", amount=7, to_challenger=0, burned=7),
                                      event("job_ended", job=OTHER, outcome="refunded", reason="noResultByDeadline",
                                            reason_code=2, paid=0, refund=10, burned=0)])
        flow = money_flow(JOB, [created, posted, refund])
        self.assertEqual((flow["outcome"], flow["slashed"]), (None, 0))
        self.assertEqual(money_flow(OTHER, [created, refund])["slashed"], 7)

    def test_amounts_that_do_not_add_up_or_a_missing_creation_are_refused(self):
        wrong = block(17, end_block=[event("job_ended", job=JOB, outcome="settled", reason="windowPassed", reason_code=1,
                                           paid=48, refund=47, burned=0)])
        with self.assertRaises(ValueError):
            money_flow(JOB, [created, wrong])
        with self.assertRaises(ValueError):
            money_flow(JOB, [posted, settled])

    def test_job_money_reads_from_creation_until_the_job_ended(self):
        chain = {7: created, 8: block(8), 9: posted, **{h: block(h) for h in range(10, 17)}, 17: settled, 18: block(18)}
        asked = []

        class Answers:  # the node's documented answers, from the table above
            def call(self, method, params=None):
                asked.append((method, (params or {}).get("height")))
                return {"job": {"created_height": 7}, "status": {"latest_height": 18}}.get(method) or chain[params["height"]]

        self.assertEqual(job_money(Answers(), JOB)["paid"], 48)
        self.assertEqual([h for m, h in asked if m == "block_results"], list(range(7, 18)))

    def test_job_money_checks_the_events_against_the_job_views_settlement(self):
        chain = {7: created, 8: block(8), 9: posted, **{h: block(h) for h in range(10, 17)}, 17: settled}

        def node(settlement):
            class Answers:
                def call(self, method, params=None):
                    job = {"created_height": 7, "settlement": settlement}
                    return {"job": job, "status": {"latest_height": 17}}.get(method) or chain[params["height"]]
            return Answers()

        agreed = {"height": 17, "paid": "48", "refund": "48", "burned": "0", "slashed": "0"}
        self.assertEqual(job_money(node(agreed), JOB)["refund"], 48)
        with self.assertRaises(ValueError):
            job_money(node({**agreed, "paid": "47"}), JOB)


if __name__ == "__main__":
    unittest.main()
