package crawlspacev1

// Subjects the stages publish to and consume from. Each stream's name is
// derived from its subjects in services/platform/bus.
const (
	// SubjectImageNamed carries [ImageNamed]: an image to crawl.
	SubjectImageNamed = "image.named"
	// SubjectImageCrawled carries [ImageCrawled]: an image's features are stored.
	SubjectImageCrawled = "image.crawled"
	// SubjectImageMatched carries [ImageMatched]: its findings are up to date.
	SubjectImageMatched = "image.matched"
	// SubjectImageChecked carries [ImageChecked]: its rule results are up to date.
	SubjectImageChecked = "image.checked"
	// SubjectNoticeParsed carries [NoticeParsed]: a notice is new or changed.
	SubjectNoticeParsed = "notice.parsed"
	// SubjectFailureRecorded carries [FailureRecorded]: a message was given up on.
	SubjectFailureRecorded = "failure.recorded"
)
