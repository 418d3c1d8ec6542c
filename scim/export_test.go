package scim

// SetPagerLimits lowers the list size from which h reuses totals and the
// distance of its marks, so that tests reach those paths with a few dozen
// resources. Call it before h serves requests.
func SetPagerLimits(h *Handler, countMin, minEvery int) {
	if h.pages != nil {
		h.pages.countMin, h.pages.minEvery = countMin, minEvery
	}
}
