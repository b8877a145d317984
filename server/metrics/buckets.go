package metrics

// Histogram buckets, in seconds. Each set spans the latencies its histogram
// sees, with steps of 2–2.5× where the interesting values lie and wider ones
// at the far ends; every bucket is a series per label combination, so the
// sets stay under about twenty.
var (
	// requestBuckets are for HTTP requests and predictions. A cached
	// prediction is answered in 0.1–0.5 ms (the benchmark's p50 target is
	// 0.5 ms in-process, 1 ms with Redis), so the low end steps finely enough
	// to tell those apart; a forecast computed in Python takes tens of
	// milliseconds to a few seconds, a batch longer; a synchronous call is cut
	// at 60 s (httpapi.DefaultCallTimeout), the last bucket.
	requestBuckets = []float64{
		0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
		0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
	}

	// bridgeCallBuckets are for calls into Python. The inference lane's calls
	// (look-ups, embeddings, forecasts) take from about 0.1 ms to seconds; the
	// long lane's (training, agent runs) minutes to the 2 h training timeout
	// (TRAINING_TIMEOUT). One set covers both lanes, 100 µs to 2 h, with
	// ×5 steps up to one second and then minutes.
	bridgeCallBuckets = []float64{
		0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1,
		5, 10, 30, 60, 300, 900, 1800, 3600, 7200,
	}

	// queueWaitBuckets are for the wait for a free worker. With an idle
	// worker it is the channel hand-over, microseconds; a saturated inference
	// lane makes calls wait milliseconds to seconds; a long-lane call may wait
	// behind whole trainings, minutes to hours.
	queueWaitBuckets = []float64{
		0.00001, 0.0001, 0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60, 300, 1800, 3600, 7200,
	}

	// llmBuckets are for one analysis's LLM time: a small local model on a
	// CPU writes a report in seconds to a minute, a 7B model on a GPU in seconds.
	llmBuckets = []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300}

	// nodeBuckets are for one agent node's time, its wait for the model and
	// its time to the first token: from milliseconds (no wait, a prompt
	// read from the cached prefix) to the 60 s LLM_TIMEOUT and beyond.
	nodeBuckets = []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120}

	// tokenRateBuckets are for tokens per second: a small model on two
	// cores generates tens and reads hundreds to thousands; a GPU more.
	tokenRateBuckets = []float64{1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000}

	// trainingBuckets are for whole trainings. A child model fine-tunes in
	// tens of seconds to minutes, a parent trains for minutes to an hour, and
	// the default TRAINING_TIMEOUT ends any at 2 h; the 3 h bucket catches a
	// larger configured timeout.
	trainingBuckets = []float64{
		10, 30, 60, 120, 300, 600, 900, 1800, 2700, 3600, 5400, 7200, 10800,
	}
)
