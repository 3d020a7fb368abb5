paths = {"/?q=%E5%8D%AB%E7%94%9F","/?q=%E6%95%99%E8%82%B2","/?q=%E7%BB%8F%E6%B5%8E","/?q=%E6%94%B9%E9%9D%A9","/?q=%E5%86%9C%E4%B8%9A","/?q=%E6%89%B6%E8%B4%AB","/?q=%E7%8E%AF%E5%A2%83","/?q=%E5%B0%B1%E4%B8%9A","/?q=%E7%BB%8F%E6%B5%8E+%E5%8F%91%E5%B1%95","/?q=%E5%8C%BB%E7%96%97+%E6%9C%8D%E5%8A%A1","/?q=%E5%9F%BA%E6%9C%AC%E8%8D%AF%E7%89%A9+%E5%88%B6%E5%BA%A6","/?q=%E4%B9%A1%E6%9D%91+%E6%8C%AF%E5%85%B4","/?q=%E7%A7%91%E6%8A%80+%E5%88%9B%E6%96%B0+%E4%BA%BA%E6%89%8D","/?q=%E7%94%9F%E6%80%81+%E7%8E%AF%E5%A2%83+%E4%BF%9D%E6%8A%A4","/?q=%22%E5%8D%AB%E7%94%9F%E6%9C%8D%E5%8A%A1%22","/?q=%22%E6%B7%B1%E5%8C%96%E6%94%B9%E9%9D%A9%22","/?q=%22%E4%BA%BA%E6%B0%91%E7%BE%A4%E4%BC%97%22","/?q=%22%E9%AB%98%E8%B4%A8%E9%87%8F%E5%8F%91%E5%B1%95%22","/?q=%22%E5%85%A8%E9%9D%A2%E5%BB%BA%E6%88%90%E5%B0%8F%E5%BA%B7%E7%A4%BE%E4%BC%9A%22","/?q=%22%E7%A4%BE%E4%BC%9A%E4%BF%9D%E9%9A%9C%E4%BD%93%E7%B3%BB%22","/?q=%E5%8D%AB%E7%94%9F&region=%E5%B9%BF%E4%B8%9C%E7%9C%81","/?q=%E6%95%99%E8%82%B2&year=2018","/?q=%E7%BB%8F%E6%B5%8E+%E5%8F%91%E5%B1%95&doc_type=%E5%B7%A5%E4%BD%9C%E6%80%BB%E7%BB%93","/?q=%22%E4%BA%BA%E6%B0%91%E7%BE%A4%E4%BC%97%22&region=%E6%B5%99%E6%B1%9F%E7%9C%81&year=2015","/?q=%E6%94%B9%E9%9D%A9&region=%E5%9B%9B%E5%B7%9D%E7%9C%81&doc_type=%E6%94%BF%E5%BA%9C%E5%B7%A5%E4%BD%9C%E6%8A%A5%E5%91%8A","/?q=%E5%B0%B1%E4%B8%9A&year=2012&year=2013","/?q=%22%E9%AB%98%E8%B4%A8%E9%87%8F%E5%8F%91%E5%B1%95%22&region=%E6%B1%9F%E8%8B%8F%E7%9C%81","/?q=%E5%86%9C%E4%B8%9A+%E5%86%9C%E6%9D%91&doc_type=%E5%B7%A5%E4%BD%9C%E8%AE%A1%E5%88%92&doc_type=%E5%B7%A5%E4%BD%9C%E6%B1%87%E6%8A%A5","/?q=&region=%E4%BA%91%E5%8D%97%E7%9C%81","/?q=%E5%8C%BB%E7%96%97&region=%E6%B9%96%E5%8C%97%E7%9C%81&year=2020"}
-- Every request asks for a different page number, so the engine's result cache never answers:
-- each request evaluates its query and counts its facets (pages past the end still do).
-- Threads get disjoint page ranges (wrk runs one Lua state per thread).
local threads = 0
function setup(thread)
  thread:set("offset", threads * 30000)
  threads = threads + 1
end
i = 0
function init(args)
  i = offset or 0
end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1] .. "&page=" .. (math.floor(i / #paths) + 1))
end
